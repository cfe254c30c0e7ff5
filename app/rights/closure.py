"""Closing one's account: a cooling-off period the holder may cancel, then erasure.

Erasure removes the person and keeps the record: the account row stays as a pseudonym (its id),
so reductions, filings, city totals and the ledger are unchanged and still verify, while the
mobile number, name, password, links, evidence files, sessions and tokens are gone. Points left
in the wallet are forfeited by a ledger adjustment with its reason. The number is free again: a
new sign-up with it is a new person.

An organisation's account is closed the same way: its contact's number, password and sessions go,
its members leave and its invitations (which name people's numbers) are deleted, while the
organisation's own record (its name, credit code, retirements and donations) stays under the
account's pseudonym, as public certificates name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts import codes, consents, memberships, sessions, two_factor
from app.accounts.models import User
from app.accounts.roles import Role
from app.activities import evidence, links
from app.audit import services as audit
from app.audit.services import SYSTEM, Actor
from app.errors import Conflict, DomainError
from app.ledger import services as ledger
from app.rights import exports
from app.rights.models import AccountClosure, ClosureStatus

#: The reason written on the ledger transaction that forfeits a closed account's points.
FORFEIT_REASON = "Account closed: remaining points forfeited"

#: Stored in place of the password's hash: no argon2 hash, so no password ever matches it.
_NOT_A_HASH = "!"

#: What erasure removes, in the order :func:`erase_account` removes it.
ERASED = (
    "points (forfeited by a ledger adjustment)",
    "consents (the privacy notice's and data partners')",
    "text-message codes sent to the number",
    "linked identifiers",
    "evidence files (rows and files)",
    "organisation memberships and invitations to the number",
    "an organisation's members and the invitations it sent",
    "sessions and API tokens",
    "second factor and recovery codes",
    "copies of the account's data",
    "mobile number, name and password",
)


@dataclass(frozen=True, slots=True)
class ErasureSettings:
    """Where files live, and the ledger's policy (for the forfeiting adjustment)."""

    evidence_dir: str
    export_dir: str
    policy: ledger.LedgerPolicy


def settings_from(config: Mapping[str, Any], policy: ledger.LedgerPolicy) -> ErasureSettings:
    return ErasureSettings(
        evidence_dir=config["EVIDENCE_DIR"], export_dir=config["EXPORT_DIR"], policy=policy
    )


def pending_closure(session: Session, user_id: int) -> AccountClosure | None:
    return session.scalar(
        sa.select(AccountClosure).where(
            AccountClosure.user_id == user_id, AccountClosure.status == ClosureStatus.PENDING
        )
    )


def request_closure(
    session: Session, actor: Actor, user: User, *, cooling_off: timedelta
) -> AccountClosure:
    """A resident or organisation asks to close their account; erased after ``cooling_off``
    (audited)."""
    if user.role not in (Role.RESIDENT, Role.ORGANISATION):
        raise DomainError(
            "closure_not_available",
            _l("Only a resident's or an organisation's account can be closed here."),
            status=403,
        )
    if pending_closure(session, user.id) is not None:
        raise Conflict(
            "closure_already_requested",
            _l("You already asked to close your account. You can still cancel it."),
        )
    now = clock.now()
    closure = AccountClosure(user_id=user.id, requested_at=now, erase_after=now + cooling_off)
    session.add(closure)
    session.flush()
    audit.record(
        session, actor, "account.close_request", "user", user.id,
        {"closure_id": closure.id, "erase_after": closure.erase_after.isoformat()},
    )  # fmt: skip
    return closure


def cancel_closure(session: Session, actor: Actor, user_id: int) -> AccountClosure:
    """The resident changes their mind during the cooling-off period (audited)."""
    closure = pending_closure(session, user_id)
    if closure is None:
        raise Conflict(
            "no_pending_closure",
            _l("There is no closure to cancel: it was cancelled or carried out already."),
        )
    closure.status = ClosureStatus.CANCELLED
    closure.cancelled_at = clock.now()
    audit.record(
        session, actor, "account.close_cancel", "user", user_id, {"closure_id": closure.id}
    )
    session.flush()
    return closure


def erase_due(session: Session, settings: ErasureSettings, *, now: datetime, limit: int) -> int:
    """Carry out up to ``limit`` closures whose cooling-off period has ended; how many."""
    due = list(
        session.scalars(
            sa.select(AccountClosure)
            .where(
                AccountClosure.status == ClosureStatus.PENDING, AccountClosure.erase_after <= now
            )
            .order_by(AccountClosure.erase_after, AccountClosure.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for closure in due:
        erase_account(session, closure, settings)
    return len(due)


def erase_account(session: Session, closure: AccountClosure, settings: ErasureSettings) -> None:
    """Erase the closing holder's personal information: everything in :data:`ERASED`.

    The one place that knows what a person leaves behind: a new kind of personal data is erased
    by a line here.
    """
    # The account row first, as ingestion locks it before the wallet (no deadlock between the two).
    user = session.get_one(User, closure.user_id, with_for_update=True)
    forfeited = ledger.balance(session, user.id)
    if forfeited > 0:
        ledger.adjust(
            session, SYSTEM, holder_id=user.id, points=-forfeited, reason=FORFEIT_REASON,
            idempotency_key=f"account-closure:{closure.id}", policy=settings.policy,
        )  # fmt: skip
    consents.erase(session, user.id)  # before the links its rows name
    codes.erase_for(session, user.mobile)
    links.erase_links(session, user.id)
    evidence.erase_owned(session, user.id, directory=settings.evidence_dir)
    memberships.forget_member(session, user)
    memberships.forget_organisation(session, user)
    sessions.erase(session, user.id)
    two_factor.erase(session, user.id)
    exports.erase_all(session, user.id, directory=settings.export_dir)
    _pseudonymise(user)
    now = clock.now()
    closure.status, closure.erased_at, closure.forfeited_points = (
        ClosureStatus.ERASED, now, forfeited,
    )  # fmt: skip
    audit.record(
        session, SYSTEM, "account.erase", "user", user.id,
        {"closure_id": closure.id, "forfeited_points": forfeited},
    )  # fmt: skip
    session.flush()


def _pseudonymise(user: User) -> None:
    """The row keeps only its id: the pseudonym its reductions and ledger entries stay under."""
    user.mobile = f"x{user.id:010d}"  # no mobile number starts with x: the number is free
    user.display_name = f"#{user.id}"
    user.password_hash = _NOT_A_HASH
    user.is_active = False
    user.must_change_password = False
    user.session_version += 1
    user.erased_at = clock.now()
