"""Data-partner consents around linked identifiers.

Linking a card, account or meter lets the partners that report that kind of identifier send the
resident's records in; the link records one consent per such partner, naming it and the activity
kinds it sends. Withdrawing one stops crediting that partner's records for the identifier (they
arrive as tombstones, keeping nothing about the person) and purges activities held for it.

A partner registered later, or one that starts reporting that kind of identifier later, has no
consent: its records wait (held, as for an unlinked identifier) and the resident is asked
(:func:`asks`). :meth:`Standing.verdict` is the one rule every path to crediting applies: a
partner batch, held activities released by a link or an answer, and a reviewer's approval.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters
from app.accounts.models import Consent, ConsentAction, ConsentPurpose
from app.activities import pipeline, reasons
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


class Verdict(enum.Enum):
    """What becomes of a partner's activity for a linked identifier."""

    CREDIT = "credit"  # consented to this partner for this kind: through the pipeline
    HOLD = "hold"  # not asked or not answered yet: waits, as for an unlinked identifier
    # Refused: a tombstone that keeps nothing about the person, only why (the value, a reason).
    WITHDRAWN = "consent_withdrawn"  # the resident withdrew a grant
    DECLINED = "consent_declined"  # the resident declined the partner's request

    @property
    def refused(self) -> bool:
        return self in (Verdict.WITHDRAWN, Verdict.DECLINED)


def refused_by(action: ConsentAction) -> Verdict:
    """The verdict a withdrawal or a decline gives the partner's records from then on."""
    return Verdict.DECLINED if action == ConsentAction.DECLINED else Verdict.WITHDRAWN


@dataclass(frozen=True, slots=True)
class Standing:
    """What the holder of one link decided about one partner, from every row so far."""

    granted: frozenset[str] = frozenset()  # activity kinds consented to
    refusal: ConsentAction | None = None  # the latest withdrawal or decline, if any

    def verdict(self, kind: str) -> Verdict:
        """The one rule every path to crediting asks: no consent in force, no credit."""
        if self.refusal is not None:
            return refused_by(self.refusal)
        return Verdict.CREDIT if kind in self.granted else Verdict.HOLD


NOT_ASKED = Standing()


def standings(
    session: Session, link_ids: Collection[int], partner_id: int | None = None
) -> dict[tuple[int, int], Standing]:
    """Each (link, partner)'s standing for these links (one partner's, if given); a pair with no
    row is absent (:data:`NOT_ASKED`)."""
    if not link_ids:
        return {}
    stmt = sa.select(Consent.link_id, Consent.partner_id, Consent.action, Consent.sends).where(
        Consent.purpose == ConsentPurpose.DATA_PARTNER,
        adapters.of(session).any_of(Consent.link_id, sorted(set(link_ids))),
    )
    if partner_id is not None:
        stmt = stmt.where(Consent.partner_id == partner_id)
    granted: dict[tuple[int, int], set[str]] = {}
    refusals: dict[tuple[int, int], ConsentAction] = {}
    for link_id, partner, action, sends in session.execute(stmt.order_by(Consent.id)):
        key = (link_id, partner)
        granted.setdefault(key, set())
        if action == ConsentAction.GRANTED:
            granted[key].update(sends or ())
        else:
            refusals[key] = action
    return {key: Standing(frozenset(kinds), refusals.get(key)) for key, kinds in granted.items()}


def refused_on_review(
    session: Session, activities: Sequence[Activity], plugins: Mapping[str, type[Methodology]]
) -> set[int]:
    """Of these matched activities, those a reviewer's approval must not credit: a partner's
    whose link has no consent in force for it. Rows matched before the link was kept are judged
    by the holder's links of their kind of identifier: any with consent will do."""
    reported = [a for a in activities if a.partner_id is not None]
    if not reported:
        return set()
    identifier_of = {cls.activity_kind: cls.kind.identifier.code for cls in plugins.values()}
    older = {a.participant_id for a in reported if a.link_id is None}
    links_of: dict[tuple[int | None, str], list[int]] = {}
    if older:
        for link_id, participant, kind in session.execute(
            sa.select(
                LinkedIdentifier.id,
                LinkedIdentifier.participant_id,
                LinkedIdentifier.identifier_kind,
            ).where(LinkedIdentifier.participant_id.in_(sorted(older)))
        ):
            links_of.setdefault((participant, kind), []).append(link_id)
    judged = {
        a.id: [a.link_id]
        if a.link_id is not None
        else links_of.get((a.participant_id, identifier_of.get(a.kind, "")), [])
        for a in reported
    }
    found = standings(session, {link for links in judged.values() for link in links})
    return {
        a.id
        for a in reported
        if not any(
            found.get((link, a.partner_id), NOT_ASKED).verdict(a.kind) is Verdict.CREDIT
            for link in judged[a.id]
        )
    }


@dataclass(frozen=True, slots=True)
class Ask:
    """A partner that reports a link's kind of identifier but has no consent for all it sends:
    it began reporting after the link was made (or sends more than the resident agreed to)."""

    link: LinkedIdentifier
    partner: PartnerReach
    waiting: int  # its activities held for the link until the resident answers


def asks(
    session: Session,
    user_id: int,
    plugins: Mapping[str, type[Methodology]],
    *,
    link_id: int | None = None,
) -> list[Ask]:
    """What the resident is asked to consent to (for one link, if given), link by link."""
    stmt = sa.select(LinkedIdentifier).where(LinkedIdentifier.participant_id == user_id)
    if link_id is not None:
        stmt = stmt.where(LinkedIdentifier.id == link_id)
    linked = list(session.scalars(stmt.order_by(LinkedIdentifier.id)))
    if not linked:
        return []
    found = standings(session, [link.id for link in linked])
    reach = {
        kind: partners_reporting(session, plugins, kind)
        for kind in {link.identifier_kind for link in linked}
    }
    pending = []
    for link in linked:
        for partner in reach[link.identifier_kind]:
            standing = found.get((link.id, partner.partner_id), NOT_ASKED)
            if standing.refusal is None and not set(partner.sends) <= standing.granted:
                pending.append((link, partner))
    if not pending:
        return []
    rows = session.execute(
        sa.select(Activity.identifier_hash, Activity.partner_id, sa.func.count())
        .where(
            Activity.status == ActivityStatus.HELD,
            Activity.identifier_hash.in_(sorted({link.identifier_hash for link, _ in pending})),
        )
        .group_by(Activity.identifier_hash, Activity.partner_id)
    )
    waiting = {(digest, partner_id): count for digest, partner_id, count in rows}
    return [
        Ask(link, partner, waiting.get((link.identifier_hash, partner.partner_id), 0))
        for link, partner in pending
    ]


def decline(
    session: Session, user_id: int, link: LinkedIdentifier, partner: PartnerReach, *, channel: str
) -> Consent:
    """The resident refuses a partner asking about a link (kept like a withdrawal)."""
    declined = Consent(
        user_id=user_id,
        purpose=ConsentPurpose.DATA_PARTNER,
        action=ConsentAction.DECLINED,
        channel=channel,
        link_id=link.id,
        link_label=link.label,
        identifier_kind=link.identifier_kind,
        partner_id=partner.partner_id,
        partner_name=partner.name,
        sends=partner.sends,
    )
    session.add(declined)
    session.flush()
    return declined


def queue_with_batches(session: Session, participant_id: int) -> None:
    """Before reading what waits for the resident after a change of consent, take the lock a
    partner's batch holds while it reads their consents (:func:`pipeline.lock_participants`):
    a batch that read them before the change has committed its held records by then, and one
    that comes after waits and reads the change."""
    pipeline.lock_participants(session, [participant_id])


def purge_held_for(session: Session, refusal: Consent, now: datetime) -> int:
    """After a withdrawal or a refusal: activities the partner sent for the identifier that
    still wait become tombstones (no identifier, no quantities); how many."""
    queue_with_batches(session, refusal.user_id)
    digest = session.scalar(
        sa.select(LinkedIdentifier.identifier_hash).where(
            LinkedIdentifier.id == refusal.link_id,
            LinkedIdentifier.participant_id == refusal.user_id,
        )
    )
    if digest is None:
        return 0
    result = session.execute(
        sa.update(Activity)
        .where(
            Activity.status == ActivityStatus.HELD,
            Activity.identifier_hash == digest,
            Activity.partner_id == refusal.partner_id,
        )
        .values(
            status=ActivityStatus.EXPIRED,
            identifier_hash=None,
            held_until=None,
            quantities={},
            reasons=[reasons.platform(refused_by(refusal.action).value, reasons.REJECT)],
            decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
