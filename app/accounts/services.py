"""Account rules: sign-up, sign-in, staff accounts, organisation members and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import adapters, clock
from app.accounts import sessions
from app.accounts.credit_code import normalise_credit_code
from app.accounts.models import (
    ApiToken,
    Consent,
    ConsentPurpose,
    MerchantRole,
    Organisation,
    OrganisationKind,
    User,
    Verification,
)
from app.accounts.password_policy import check_password
from app.accounts.roles import STAFF_ROLES, Role
from app.audit import services as audit
from app.audit.services import Actor
from app.db import UTCDateTime
from app.errors import Checks, Conflict, DomainError, NotFound

_hasher = PasswordHasher()
# Checked when the account does not exist, so a wrong mobile takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")


def normalise_mobile(raw: str) -> str:
    """A mainland mobile number as 11 digits; spaces, dashes and a +86 prefix are accepted."""
    digits = re.sub(r"[\s-]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not MOBILE_PATTERN.match(digits):
        raise DomainError(
            "invalid_mobile",
            _l("Enter an 11-digit mainland mobile number, such as 13800138000."),
            field="mobile",
        )
    return digits


def _check_display_name(display_name: str, field: str = "display_name") -> str:
    name = (display_name or "").strip()
    if not 1 <= len(name) <= 64:
        raise DomainError("invalid_name", _l("Enter a name of 1 to 64 characters."), field=field)
    return name


def _new_user_checks(
    session: Session, mobile: str, password: str, display_name: str, *, check_name: bool = True
) -> tuple[str, str]:
    """The normalised mobile number and name of a new account, after every check (what each
    refuses is refused together); ``check_name`` False: the caller checks the name itself."""
    checks = Checks()
    with checks.check():
        mobile = normalise_mobile(mobile)
        if session.scalar(sa.select(User.id).where(User.mobile == mobile)) is not None:
            raise Conflict(
                "duplicate_mobile",
                _l("An account with this mobile number already exists."),
                field="mobile",
            )
    with checks.check():
        check_password(password or "", mobile or "")
    if check_name:
        with checks.check():
            display_name = _check_display_name(display_name)
    checks.refuse()
    return mobile, display_name


def _new_user(
    session: Session, *, role: Role, mobile: str, password: str, display_name: str, **fields: object
) -> User:
    mobile, display_name = _new_user_checks(session, mobile, password, display_name)
    user = User(
        role=role,
        mobile=mobile,
        display_name=display_name,
        password_hash=hash_password(password),
        **fields,
    )
    session.add(user)
    session.flush()
    return user


def check_new_resident(session: Session, *, mobile: str, password: str, display_name: str) -> None:
    """Refuse a sign-up before its code is spent: duplicate number, weak password, bad name."""
    _new_user_checks(session, mobile, password, display_name)


def register_resident(session: Session, *, mobile: str, password: str, display_name: str) -> User:
    return _new_user(
        session, role=Role.RESIDENT, mobile=mobile, password=password, display_name=display_name
    )


def _organisation_checks(
    session: Session, *, name: str, credit_code: str | None
) -> tuple[str, str | None]:
    """The organisation's checked name and normalised credit code (None: not given)."""
    name = _check_display_name(name, field="name")
    code = normalise_credit_code(credit_code)
    if code is not None and session.scalar(
        sa.select(Organisation.id).where(Organisation.credit_code == code)
    ):
        raise Conflict(
            "duplicate_credit_code",
            _l("An organisation with this credit code is already registered."),
            field="credit_code",
        )
    return name, code


def check_new_organisation(
    session: Session,
    *,
    mobile: str,
    password: str,
    name: str,
    credit_code: str | None,
) -> None:
    """Refuse an organisation's sign-up before its code is spent: bad name, credit code taken,
    duplicate number, weak password, all that is wrong together."""
    checks = Checks()
    with checks.check():
        _organisation_checks(session, name=name, credit_code=credit_code)
    with checks.check():
        _new_user_checks(session, mobile, password, name, check_name=False)
    checks.refuse()


def register_organisation(
    session: Session,
    *,
    mobile: str,
    password: str,
    name: str,
    kind: OrganisationKind,
    credit_code: str | None,
) -> User:
    """An enterprise or social group signs up with its contact's mobile number."""
    name, code = _organisation_checks(session, name=name, credit_code=credit_code)
    account = _new_user(
        session, role=Role.ORGANISATION, mobile=mobile, password=password, display_name=name
    )
    session.add(
        Organisation(
            account_id=account.id,
            name=name,
            kind=kind,
            credit_code=code,
            verification=Verification.UNVERIFIED if code is None else Verification.PENDING,
        )
    )
    session.flush()
    return account


def authenticate(session: Session, *, mobile: str, password: str) -> User | None:
    """The active account for these credentials, or None. Upgrades outdated hashes on the way."""
    try:
        mobile = normalise_mobile(mobile)
    except DomainError:
        _verify(_DUMMY_HASH, password)
        return None
    user = session.scalar(sa.select(User).where(User.mobile == mobile))
    if user is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_sign_in_at = clock.now()
    session.flush()
    return user


def hash_password(password: str) -> str:
    """The stored form of a password (argon2id, with its parameters and salt)."""
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_staff(
    session: Session, actor: Actor, *, mobile: str, password: str, display_name: str, role: Role
) -> User:
    """A bureau admin creates a reviewer or a verifier account (audited). Another admin is only
    requested (:func:`app.accounts.approvals.request_admin`); the command line, acting as no one,
    makes the first admin directly."""
    if role not in STAFF_ROLES:
        raise DomainError("invalid_role", _l("Choose a staff role."), field="role")
    if role == Role.BUREAU_ADMIN and actor.user_id is not None:
        raise DomainError(
            "approval_required",
            _l("A new bureau admin needs a second admin's approval: request it instead."),
            field="role",
            status=409,
        )
    user = _new_user(
        session,
        role=role,
        mobile=mobile,
        password=password,
        display_name=display_name,
        created_by_id=actor.user_id,
        # A password someone else chose is changed at first sign-in; an operator's own (the
        # command line's first admin, demo data) is not.
        must_change_password=actor.user_id is not None,
    )
    audit.record(
        session, actor, "staff.create", "user", user.id,
        {"role": role.value, "display_name": user.display_name, "mobile": mask_mobile(user.mobile)},
    )  # fmt: skip
    return user


def change_password(
    session: Session,
    actor: Actor,
    user: User,
    *,
    current_password: str,
    new_password: str,
    keep_token: str | None = None,
    keep_session: str | None = None,
) -> None:
    """The account holder replaces their password, giving the current one (audited).

    A wrong current password is refused as :class:`WrongPassword` after its audit entry is
    written, which the edge keeps. Every session and bearer token of the account ends (its session
    version moves on), except ``keep_token``, the one the change was made with; a page keeps its
    own session (``keep_session``, its sid hash) with :func:`app.accounts.sessions.carry_on`.
    """
    if not _verify(user.password_hash, current_password):
        audit.record(session, actor, "password.change_refused", "user", user.id,
                     {"reason": "wrong_current_password"})  # fmt: skip
        raise WrongPassword()
    check_password(new_password, user.mobile, field="new_password")
    if _verify(user.password_hash, new_password):
        raise DomainError(
            "same_password",
            _l("Choose a new password, not the one you have now."),
            field="new_password",
        )
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.session_version += 1  # every other session and token ends
    kept = _token_digest(keep_token) if keep_token else ""
    session.execute(
        sa.update(ApiToken)
        .where(ApiToken.token_hash == kept, ApiToken.user_id == user.id)
        .values(session_version=user.session_version)
    )
    revoked = session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.token_hash != kept,
        )
        .values(revoked_at=clock.now())
    ).rowcount
    ended = sessions.end_rows(session, user.id, keep=keep_session)
    audit.record(
        session, actor, "password.change", "user", user.id,
        {"tokens_revoked": revoked, "sessions_ended": ended},
    )  # fmt: skip
    session.flush()


class WrongPassword(DomainError):
    """The current password given to change it was wrong (the refusal itself is audited)."""

    keep_writes = True

    def __init__(self) -> None:
        super().__init__(
            "wrong_password",
            _l("Your current password is not right."),
            field="current_password",
        )


def create_merchant_staff(
    session: Session,
    actor: Actor,
    *,
    merchant_id: int,
    merchant_role: MerchantRole,
    mobile: str,
    password: str,
    display_name: str,
) -> User:
    user = _new_user(
        session,
        role=Role.MERCHANT_STAFF,
        mobile=mobile,
        password=password,
        display_name=display_name,
        merchant_id=merchant_id,
        merchant_role=merchant_role,
        created_by_id=actor.user_id,
    )
    audit.record(
        session, actor, "merchant_staff.create", "user", user.id,
        {"merchant_id": merchant_id, "merchant_role": merchant_role.value},
    )  # fmt: skip
    return user


def set_active(session: Session, actor: Actor, user_id: int, *, active: bool) -> User:
    user = session.get(User, user_id)
    if user is None or user.role not in STAFF_ROLES:
        raise NotFound("user")
    if user.id == actor.user_id and not active:
        raise DomainError("cannot_disable_self", _l("You cannot disable your own account."))
    user.is_active = active
    if not active:
        user.session_version += 1  # its sessions and tokens end now, and stay ended if re-enabled
        sessions.end_rows(session, user.id)
    audit.record(
        session, actor, "staff.enable" if active else "staff.disable", "user", user.id,
        {"is_active": active},
    )  # fmt: skip
    return user


def organisation_of(session: Session, account: User) -> Organisation:
    org = session.scalar(sa.select(Organisation).where(Organisation.account_id == account.id))
    if org is None:
        raise NotFound("organisation")
    return org


def mask_mobile(mobile: str) -> str:
    """138****8000: enough for staff to recognise a person, not enough to call them."""
    return f"{mobile[:3]}****{mobile[-4:]}"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(
    session: Session, user: User, *, lifetime_seconds: int, ip: str | None = None
) -> tuple[str, datetime]:
    """A new bearer token (returned once, stored as its SHA-256) and when it expires."""
    token = "tph_" + secrets.token_urlsafe(32)
    expires_at = clock.now() + timedelta(seconds=lifetime_seconds)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_token_digest(token),
            expires_at=expires_at,
            session_version=user.session_version,
            created_ip=ip,
        )
    )
    session.flush()
    return token, expires_at


#: Every API call asks: built once, executed with parameters.
_USER_FOR_TOKEN = (
    sa.select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == sa.bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > sa.bindparam("now", type_=UTCDateTime),
        ApiToken.session_version == User.session_version,
        User.is_active.is_(True),
    )
)


_users, _tokens, _consents = User.__table__, ApiToken.__table__, Consent.__table__

#: The version of the privacy notice the account accepted last (the same rule as
#: :func:`app.accounts.consents.accepted_notice_version`), read with the token in one round trip.
_ACCEPTED_NOTICE = (
    sa.select(_consents.c.notice_version)
    .where(
        _consents.c.user_id == _users.c.id,
        _consents.c.purpose == ConsentPurpose.PRIVACY_NOTICE,
    )
    .order_by(_consents.c.id.desc())
    .limit(1)
    .scalar_subquery()
)

#: The API's sign-in: the caller's plain values from the token's unique index, no ORM load.
_PRINCIPAL_FOR_TOKEN = (
    sa.select(
        _users.c.id,
        _users.c.role,
        _users.c.merchant_id,
        _users.c.merchant_role,
        _users.c.must_change_password,
        _ACCEPTED_NOTICE,
        _tokens.c.id,
        _tokens.c.last_used_at,
    )
    .select_from(_tokens.join(_users, _tokens.c.user_id == _users.c.id))
    .where(
        _tokens.c.token_hash == sa.bindparam("token_hash"),
        _tokens.c.revoked_at.is_(None),
        _tokens.c.expires_at > sa.bindparam("now", type_=UTCDateTime),
        _tokens.c.session_version == _users.c.session_version,
        _users.c.is_active.is_(True),
    )
)


def principal_for_token(connection: sa.Connection, token: str) -> sa.Row[Any] | None:
    """``(id, role, merchant_id, merchant_role, must_change_password, accepted_notice,
    token_id, token_last_used_at)`` of the active account a live (unrevoked, unexpired) bearer
    token belongs to, or None: the same rule as :func:`user_for_token`."""
    params = {"token_hash": _token_digest(token), "now": clock.now()}
    return adapters.of(connection).first(connection, _PRINCIPAL_FOR_TOKEN, params)


def user_for_token(session: Session, token: str) -> User | None:
    """The active account a live (unrevoked, unexpired) bearer token belongs to, or None."""
    return session.scalar(_USER_FOR_TOKEN, {"token_hash": _token_digest(token), "now": clock.now()})


def revoke_api_token(session: Session, token: str) -> None:
    api_token = session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(token))
    )
    if api_token is not None and api_token.revoked_at is None:
        api_token.revoked_at = clock.now()
        session.flush()
