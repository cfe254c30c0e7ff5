"""The bureau's review of an organisation's unified social credit code.

Only a verified organisation may ask to retire filed tonnes: a certificate names it publicly, so
the bureau first checks that the organisation is who its code says. An organisation that signs
up with a code is queued for review at once; one without a code (or whose code was rejected)
submits one later. Every step is audited.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts.credit_code import normalise_credit_code
from app.accounts.models import Organisation, Verification
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound

#: The longest reason the bureau can give for rejecting a code.
NOTE_MAX = 256


def request_verification(
    session: Session, actor: Actor, organisation: Organisation, *, credit_code: str
) -> Organisation:
    """Submit (or correct) the credit code for the bureau's review."""
    if organisation.verification in (Verification.PENDING, Verification.VERIFIED):
        raise Conflict(
            f"already_{organisation.verification.value}",
            _l("The credit code is already with the bureau or verified."),
        )
    code = normalise_credit_code(credit_code)
    if code is None:
        raise DomainError(
            "invalid_credit_code",
            _l("Enter the unified social credit code."),
            field="credit_code",
        )
    taken = session.scalar(
        sa.select(Organisation.id).where(
            Organisation.credit_code == code, Organisation.id != organisation.id
        )
    )
    if taken is not None:
        raise Conflict(
            "duplicate_credit_code",
            _l("An organisation with this credit code is already registered."),
            field="credit_code",
        )
    organisation.credit_code = code
    organisation.verification = Verification.PENDING
    organisation.verification_note = None
    session.flush()
    audit.record(
        session, actor, "organisation.verification_requested", "organisation", organisation.id,
        {"credit_code": code},
    )  # fmt: skip
    return organisation


def decide(
    session: Session, actor: Actor, organisation_id: int, *, verified: bool, note: str = ""
) -> Organisation:
    """The bureau verifies or rejects a pending organisation's code (a rejection says why)."""
    organisation = session.scalar(
        sa.select(Organisation).where(Organisation.id == organisation_id).with_for_update()
    )
    if organisation is None:
        raise NotFound("organisation")
    if organisation.verification is not Verification.PENDING:
        raise Conflict(
            "not_pending", _l("This organisation is not waiting for a review.")
        )  # fmt: skip
    note = (note or "").strip()
    if not verified and not note:
        raise DomainError(
            "reason_required", _l("Say why the code is rejected."), field="note"
        )  # fmt: skip
    if len(note) > NOTE_MAX:
        raise DomainError(
            "note_too_long",
            _l("Enter at most %(most)s characters.", most=NOTE_MAX),
            field="note",
        )
    organisation.verification = Verification.VERIFIED if verified else Verification.REJECTED
    organisation.verification_note = note or None
    organisation.verified_by_id = actor.user_id
    organisation.verified_at = clock.now()
    session.flush()
    audit.record(
        session, actor,
        "organisation.verified" if verified else "organisation.verification_rejected",
        "organisation", organisation.id,
        {"name": organisation.name, "credit_code": organisation.credit_code, "note": note},
    )  # fmt: skip
    return organisation


def pending(session: Session) -> list[Organisation]:
    """Organisations waiting for the bureau's review, oldest request first."""
    return list(
        session.scalars(
            sa.select(Organisation)
            .where(Organisation.verification == Verification.PENDING)
            .order_by(Organisation.id)
        )
    )
