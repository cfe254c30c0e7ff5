"""SMS one-time codes: sign-up proves the number, sign-in and password reset by code.

A code is six random digits, kept only as an HMAC under a key derived from the secret key (six
digits are too few for a plain hash), bound to its number and purpose. It lives
``CODE_LIFETIME``, serves once, and ends when a newer code is requested for the same number and
purpose, when it could not be sent, or after ``MAX_FAILED_ATTEMPTS`` wrong entries. How often
codes may be requested is limited at the edge (per number, per address, per day).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts import sessions, two_factor
from app.accounts.models import CodePurpose, OneTimeCode, User
from app.accounts.password_policy import check_password
from app.accounts.roles import Role
from app.accounts.services import hash_password, mask_mobile, normalise_mobile
from app.accounts.sms import Sender, SendFailed
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import DomainError

log = logging.getLogger("tanpuhui.sms")

CODE_LIFETIME = timedelta(minutes=5)
CODE_DIGITS = 6
MAX_FAILED_ATTEMPTS = 5


def code_key(secret_key: str) -> bytes:
    """The key codes are hashed under, derived from the secret key for this use alone."""
    return hmac.new(secret_key.encode(), b"tanpuhui sms codes v1", hashlib.sha256).digest()


def code_hash(key: bytes, purpose: CodePurpose, mobile: str, code: str) -> str:
    return hmac.new(key, f"{purpose.value}:{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def _live(session: Session, mobile: str, purpose: CodePurpose) -> list[OneTimeCode]:
    return list(
        session.scalars(
            sa.select(OneTimeCode)
            .where(
                OneTimeCode.mobile == mobile,
                OneTimeCode.purpose == purpose,
                OneTimeCode.used_at.is_(None),
                OneTimeCode.expires_at > clock.now(),
            )
            .with_for_update()
        )
    )


def send_code(
    session: Session, sender: Sender, key: bytes, *, mobile: str, purpose: CodePurpose
) -> None:
    """Text a new code to ``mobile`` (older ones for the same purpose end).

    A failed send leaves no code valid and raises a refusal that keeps that (503).
    """
    mobile = normalise_mobile(mobile)
    now = clock.now()
    for older in _live(session, mobile, purpose):
        older.used_at = now
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = OneTimeCode(
        mobile=mobile,
        purpose=purpose,
        code_hash=code_hash(key, purpose, mobile, code),
        expires_at=now + CODE_LIFETIME,
    )
    session.add(row)
    session.flush()
    try:
        sender.send(mobile, code, purpose.value)
    except SendFailed as failure:
        row.used_at = now
        session.flush()
        log.warning(
            "SMS code not sent to %s (%s): %s", mask_mobile(mobile), purpose.value, failure.reason
        )
        raise DomainError(
            "sms_not_sent",
            _l("The text message could not be sent. Please try again in a few minutes."),
            field="mobile",
            status=503,
            keep_writes=True,
        ) from None


def use_code(session: Session, key: bytes, *, mobile: str, purpose: CodePurpose, code: str) -> str:
    """Spend the code texted to ``mobile`` for ``purpose``; the normalised number.

    A wrong code counts against the live one and is kept although the request fails.
    """
    mobile = normalise_mobile(mobile)
    entered = "".join((code or "").split())
    live = _live(session, mobile, purpose)
    expected = {row.code_hash: row for row in live}
    match = expected.get(code_hash(key, purpose, mobile, entered)) if entered.isdigit() else None
    if match is None:
        for row in live:
            row.failed_attempts += 1
            if row.failed_attempts >= MAX_FAILED_ATTEMPTS:
                row.used_at = clock.now()
        session.flush()
        raise DomainError(
            "wrong_code",
            _l("The code is wrong, expired or already used. Request a new one."),
            field="code",
            status=400,
            keep_writes=bool(live),
        )
    match.used_at = clock.now()
    session.flush()
    return mobile


def should_send(session: Session, mobile: str, purpose: CodePurpose) -> bool:
    """Whether a code for ``purpose`` makes sense for this number: sign-up for a new number,
    sign-in and reset for an active account. The page answers the same either way, so asking
    for a code tells nobody whether the number has an account."""
    account = session.scalar(sa.select(User).where(User.mobile == normalise_mobile(mobile)))
    if purpose is CodePurpose.SIGN_UP:
        return account is None
    return account is not None and account.is_active


def sign_in_by_code(session: Session, key: bytes, *, mobile: str, code: str) -> User:
    """The active account whose number the code was texted to for signing in."""
    mobile = use_code(session, key, mobile=mobile, purpose=CodePurpose.SIGN_IN, code=code)
    user = session.scalar(sa.select(User).where(User.mobile == mobile, User.is_active))
    if user is None:  # deactivated since the code was sent
        raise DomainError("account_inactive", _l("This account cannot sign in."), status=403)
    if two_factor.required_for(user):  # a texted code must not stand in for the authenticator
        raise DomainError(
            "second_factor_required",
            _l("Staff sign in with their password and the code from their authenticator."),
            status=403,
        )
    user.last_sign_in_at = clock.now()
    session.flush()
    return user


def reset_password(
    session: Session, key: bytes, *, mobile: str, code: str, new_password: str
) -> User:
    """A forgotten password replaced with a code (audited); every session and token ends."""
    normalised = normalise_mobile(mobile)
    check_password(new_password, normalised, field="new_password")
    normalised = use_code(session, key, mobile=normalised, purpose=CodePurpose.RESET, code=code)
    user = session.scalar(sa.select(User).where(User.mobile == normalised, User.is_active))
    if user is None:
        raise DomainError("account_inactive", _l("This account cannot sign in."), status=403)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.session_version += 1
    sessions.end_rows(session, user.id)
    session.flush()
    holder = Actor(user_id=user.id, role=user.role)
    audit.record(session, holder, "password.reset", "user", user.id, {"via": "sms_code"})
    return user


def signs_up_itself(role: Role) -> bool:
    """Accounts made by their holders accept the privacy notice; staff accounts are made by
    the bureau or a merchant under their own terms."""
    return role in (Role.RESIDENT, Role.ORGANISATION)


def erase_for(session: Session, mobile: str) -> int:
    """Delete every code texted to a closed account's number (its erasure); how many rows."""
    return session.execute(sa.delete(OneTimeCode).where(OneTimeCode.mobile == mobile)).rowcount or 0
