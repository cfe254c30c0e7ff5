"""Data-partner consents around linked identifiers.

Linking a card, account or meter lets the partners that report that kind of identifier send the
resident's records in; the link records one consent per such partner, naming it and the activity
kinds it sends. Withdrawing one stops crediting that partner's records for the identifier (they
arrive as tombstones, keeping nothing about the person) and purges activities held for it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters
from app.accounts.models import Consent, ConsentAction, ConsentPurpose
from app.activities import reasons
from app.activities.models import Activity, ActivityStatus, DataPartner, LinkedIdentifier
from methodologies.base import Methodology


@dataclass(frozen=True, slots=True)
class PartnerReach:
    """A partner that reports an identifier kind, and the activity kinds it sends for it."""

    partner_id: int
    name: str
    sends: list[str]


def partners_reporting(
    session: Session, plugins: Mapping[str, type[Methodology]], identifier_kind: str
) -> list[PartnerReach]:
    """The partners that may send activities matched by ``identifier_kind``, by name."""
    kinds = {
        cls.activity_kind for cls in plugins.values() if cls.kind.identifier.code == identifier_kind
    }
    reach = []
    for partner in session.scalars(sa.select(DataPartner).order_by(DataPartner.name)):
        sends = sorted(kinds.intersection(partner.allowed_kinds))
        if sends:
            reach.append(PartnerReach(partner.id, partner.name, sends))
    return reach


def grant_for_link(
    session: Session,
    user_id: int,
    link: LinkedIdentifier,
    reach: Sequence[PartnerReach],
    *,
    channel: str,
) -> list[Consent]:
    """One consent per partner reporting the link's kind of identifier."""
    granted = [
        Consent(
            user_id=user_id,
            purpose=ConsentPurpose.DATA_PARTNER,
            action=ConsentAction.GRANTED,
            channel=channel,
            link_id=link.id,
            link_label=link.label,
            identifier_kind=link.identifier_kind,
            partner_id=partner.partner_id,
            partner_name=partner.name,
            sends=partner.sends,
        )
        for partner in reach
    ]
    session.add_all(granted)
    session.flush()
    return granted


def refused_hashes(session: Session, partner_id: int, hashes: Collection[str]) -> set[str]:
    """Of these linked identifiers, those whose holder withdrew this partner's consent."""
    if not hashes:
        return set()
    return set(
        session.scalars(
            sa.select(LinkedIdentifier.identifier_hash)
            .join(Consent, Consent.link_id == LinkedIdentifier.id)
            .where(
                adapters.of(session).any_of(LinkedIdentifier.identifier_hash, sorted(hashes)),
                Consent.action == ConsentAction.WITHDRAWN,
                Consent.partner_id == partner_id,
            )
        )
    )


def purge_held_for(session: Session, withdrawal: Consent, now: datetime) -> int:
    """After a withdrawal: activities the partner sent for the identifier that still wait
    become tombstones (no identifier, no quantities); how many."""
    digest = session.scalar(
        sa.select(LinkedIdentifier.identifier_hash).where(
            LinkedIdentifier.id == withdrawal.link_id,
            LinkedIdentifier.participant_id == withdrawal.user_id,
        )
    )
    if digest is None:
        return 0
    result = session.execute(
        sa.update(Activity)
        .where(
            Activity.status == ActivityStatus.HELD,
            Activity.identifier_hash == digest,
            Activity.partner_id == withdrawal.partner_id,
        )
        .values(
            status=ActivityStatus.EXPIRED,
            identifier_hash=None,
            held_until=None,
            quantities={},
            reasons=[reasons.platform("consent_withdrawn", reasons.REJECT)],
            decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
