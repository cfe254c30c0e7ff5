"""Second factor for bureau staff and verifiers: a TOTP authenticator and recovery codes.

A staff member enrols by scanning a QR code and typing the first code it shows; only then do
ten single-use recovery codes appear, once. A code is accepted for the current 30-second step
or one either side (clock drift), and never twice: the step of the last accepted code is kept,
so the same code (or an earlier one) replayed inside its window is refused. The secret is
sealed under SECRET_KEY; recovery codes are kept as SHA-256 only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from io import BytesIO

import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import RecoveryCode, SecondFactor, User
from app.accounts.roles import STAFF_ROLES
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import DomainError, NotFound

RECOVERY_CODES = 10
#: Steps either side of now a code may come from (30 seconds each way of clock drift).
DRIFT_STEPS = 1
ISSUER = "Tanpuhui"


def required_for(user: User) -> bool:
    """Bureau admins, reviewers and verifiers sign in with a second factor."""
    return user.role in STAFF_ROLES


def enrolment_of(session: Session, user_id: int) -> SecondFactor | None:
    return session.get(SecondFactor, user_id)


def is_enrolled(session: Session, user_id: int) -> bool:
    factor = enrolment_of(session, user_id)
    return factor is not None and factor.confirmed_at is not None


def begin_enrolment(session: Session, user: User) -> SecondFactor:
    """A new, unconfirmed secret for ``user`` (an earlier unconfirmed one is replaced)."""
    factor = enrolment_of(session, user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise DomainError("already_enrolled", _l("An authenticator is already set up."), status=409)
    if factor is None:
        factor = SecondFactor(user_id=user.id, secret=pyotp.random_base32())
        session.add(factor)
    session.flush()
    return factor


def provisioning_uri(factor: SecondFactor, account_name: str) -> str:
    return pyotp.TOTP(factor.secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment URI as an inline SVG QR code."""
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, border=2,
        image_factory=qrcode.image.svg.SvgPathImage,
    )  # fmt: skip
    code.add_data(uri)
    buffer = BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue().decode()


def confirm_enrolment(session: Session, actor: Actor, user: User, code: str) -> list[str]:
    """The first code proves the authenticator; returns the recovery codes (shown once)."""
    factor = enrolment_of(session, user.id)
    if factor is None or factor.confirmed_at is not None:
        raise DomainError(
            "no_enrolment", _l("Start setting up the authenticator again."), status=409
        )
    step = _matching_step(factor, code)
    if step is None:
        raise _wrong_code()
    factor.last_step = step
    factor.confirmed_at = clock.now()
    codes = _new_recovery_codes(session, user.id)
    audit.record(session, actor, "second_factor.enrol", "user", user.id, {})
    return codes


def check(session: Session, user_id: int, code: str) -> str:
    """Accept a TOTP code or an unused recovery code for the enrolled account; ``"totp"`` or
    ``"recovery_code"``. A wrong, replayed or used code is refused and nothing changes."""
    factor = enrolment_of(session, user_id)
    if factor is None or factor.confirmed_at is None:
        raise DomainError(
            "second_factor_not_enrolled",
            _l("Set up an authenticator first: sign in on the web to do so."),
            status=403,
        )
    cleaned = "".join((code or "").split())
    if cleaned.isdigit():
        step = _matching_step(factor, cleaned)
        if step is None:
            raise _wrong_code()
        if factor.last_step is not None and step <= factor.last_step:
            raise DomainError(
                "code_reused",
                _l("This code was used already. Wait for the next one."),
                field="code",
                status=401,
            )
        # Only the first of two concurrent uses of a code moves the step on.
        moved = session.execute(
            sa.update(SecondFactor)
            .where(
                SecondFactor.user_id == user_id,
                sa.or_(SecondFactor.last_step.is_(None), SecondFactor.last_step < step),
            )
            .values(last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not moved:
            raise _wrong_code()
        session.expire(factor)
        return "totp"
    used = session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _digest(cleaned.lower()),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not used:
        raise _wrong_code()
    return "recovery_code"


def recovery_codes_left(session: Session, user_id: int) -> int:
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    ) or 0  # fmt: skip


def reset(session: Session, actor: Actor, user_id: int) -> None:
    """A bureau admin clears another staff member's enrolment (audited); that member enrols
    again at their next sign-in, and their sessions and tokens end now."""
    user = session.get(User, user_id)
    if user is None or user.role not in STAFF_ROLES:
        raise NotFound("user")
    if user.id == actor.user_id:
        raise DomainError(
            "cannot_reset_own_second_factor",
            _l("Another bureau admin must reset your own authenticator."),
            status=403,
        )
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.execute(sa.delete(SecondFactor).where(SecondFactor.user_id == user.id))
    user.session_version += 1
    audit.record(session, actor, "second_factor.reset", "user", user.id, {})
    session.flush()


def erase(session: Session, user_id: int) -> None:
    """Forget an account's authenticator and recovery codes (a closed account's erasure)."""
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(sa.delete(SecondFactor).where(SecondFactor.user_id == user_id))


def _matching_step(factor: SecondFactor, code: str) -> int | None:
    """The time step (of now and its neighbours) whose code ``code`` is, or None."""
    totp = pyotp.TOTP(factor.secret)
    current = totp.timecode(clock.now())
    cleaned = "".join((code or "").split())
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), cleaned):
            return step
    return None


def _new_recovery_codes(session: Session, user_id: int) -> list[str]:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [
        f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)
    ]  # fmt: skip
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_digest(code)) for code in codes)
    session.flush()
    return codes


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _wrong_code() -> DomainError:
    return DomainError(
        "wrong_code", _l("That code is not right. Try the newest code."), field="code", status=401
    )
