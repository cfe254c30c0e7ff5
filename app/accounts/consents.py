"""Consents under the Personal Information Protection Law: the privacy notice, and each data
partner whose records about a linked identifier the resident lets in.

Every change is a new row (:class:`~app.accounts.models.Consent`); nothing is updated or deleted
here, so the history of what a resident agreed to, when and where, stays whole. A withdrawal
names the grant it ends, and a grant can be withdrawn once.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, aliased

from app.accounts.models import Consent, ConsentAction, ConsentPurpose
from app.errors import Conflict, DomainError, NotFound

CHANNELS = ("web", "api")


def record_notice(session: Session, user_id: int, *, version: str, channel: str) -> Consent:
    """The resident accepted the privacy notice of ``version``."""
    consent = Consent(
        user_id=user_id,
        purpose=ConsentPurpose.PRIVACY_NOTICE,
        action=ConsentAction.GRANTED,
        channel=channel,
        notice_version=version,
    )
    session.add(consent)
    session.flush()
    return consent


def require_notice_accepted(accepted: bool) -> None:
    """Sign-up needs the notice accepted; a clear refusal otherwise."""
    if not accepted:
        raise DomainError(
            "consent_required",
            _l("Read the privacy notice and agree to it to create an account."),
            field="consent",
            status=400,
        )


def accepted_notice_version(session: Session, user_id: int) -> str | None:
    """The version of the privacy notice the account last accepted (None: never)."""
    return session.scalar(
        sa.select(Consent.notice_version)
        .where(Consent.user_id == user_id, Consent.purpose == ConsentPurpose.PRIVACY_NOTICE)
        .order_by(Consent.id.desc())
        .limit(1)
    )


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A grant (or a refusal) and, if it was withdrawn, its withdrawal."""

    grant: Consent
    withdrawal: Consent | None


def consents_of(session: Session, user_id: int) -> list[ConsentState]:
    """Every grant (and refusal of a partner's request) of the account, newest first, each
    grant with its withdrawal."""
    withdrawal = aliased(Consent)
    rows = session.execute(
        sa.select(Consent, withdrawal)
        .outerjoin(withdrawal, withdrawal.grant_id == Consent.id)
        .where(
            Consent.user_id == user_id,
            Consent.action.in_([ConsentAction.GRANTED, ConsentAction.DECLINED]),
        )
        .order_by(Consent.id.desc())
    )
    return [ConsentState(grant, withdrawn) for grant, withdrawn in rows]


def withdraw(session: Session, user_id: int, consent_id: int, *, channel: str) -> Consent:
    """Withdraw a data partner's consent (the notice is withdrawn by closing the account)."""
    grant = session.scalar(
        sa.select(Consent).where(Consent.id == consent_id, Consent.user_id == user_id)
    )
    if grant is None or grant.action != ConsentAction.GRANTED:
        raise NotFound("consent")
    if grant.purpose != ConsentPurpose.DATA_PARTNER:
        raise DomainError(
            "notice_not_withdrawable",
            _l("The privacy notice is withdrawn by closing the account."),
            status=409,
        )
    already = session.scalar(sa.select(Consent.id).where(Consent.grant_id == grant.id))
    if already is not None:
        raise Conflict("already_withdrawn", _l("This consent was already withdrawn."))
    withdrawal = Consent(
        user_id=user_id,
        purpose=grant.purpose,
        action=ConsentAction.WITHDRAWN,
        channel=channel,
        grant_id=grant.id,
        link_id=grant.link_id,
        link_label=grant.link_label,
        identifier_kind=grant.identifier_kind,
        partner_id=grant.partner_id,
        partner_name=grant.partner_name,
        sends=grant.sends,
    )
    session.add(withdrawal)
    session.flush()
    return withdrawal


def erase(session: Session, user_id: int) -> int:
    """Delete a closed account's consents (its erasure); how many rows."""
    return session.execute(sa.delete(Consent).where(Consent.user_id == user_id)).rowcount or 0
