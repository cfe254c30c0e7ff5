"""Sign-up by the holder of a mobile number, resident or organisation, on a page or the API.

Both prove the number with the code texted to it (``sign_up``) and accept the privacy notice,
whose version, time and channel are recorded. Every check that spends nothing runs before the
code is spent, so a refused sign-up leaves the code valid for the corrected form.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.accounts import codes, consents, services
from app.accounts.models import CodePurpose, OrganisationKind, User


def resident(
    session: Session,
    code_key: bytes,
    *,
    mobile: str,
    code: str,
    password: str,
    display_name: str,
    accepted_notice: bool,
    notice_version: str,
    channel: str,
) -> User:
    """A resident's account, its number proved and the notice accepted."""
    services.check_new_resident(
        session, mobile=mobile, password=password, display_name=display_name
    )
    _prove(session, code_key, mobile=mobile, code=code, accepted_notice=accepted_notice)
    user = services.register_resident(
        session, mobile=mobile, password=password, display_name=display_name
    )
    consents.record_notice(session, user.id, version=notice_version, channel=channel)
    return user


def organisation(
    session: Session,
    code_key: bytes,
    *,
    mobile: str,
    code: str,
    password: str,
    name: str,
    kind: OrganisationKind,
    credit_code: str | None,
    accepted_notice: bool,
    notice_version: str,
    channel: str,
) -> User:
    """An enterprise's or social group's account, its contact's number proved and the notice
    accepted."""
    services.check_new_organisation(
        session, mobile=mobile, password=password, name=name, credit_code=credit_code
    )
    _prove(session, code_key, mobile=mobile, code=code, accepted_notice=accepted_notice)
    user = services.register_organisation(
        session, mobile=mobile, password=password, name=name, kind=kind, credit_code=credit_code
    )
    consents.record_notice(session, user.id, version=notice_version, channel=channel)
    return user


def _prove(
    session: Session, code_key: bytes, *, mobile: str, code: str, accepted_notice: bool
) -> None:
    consents.require_notice_accepted(accepted_notice)
    codes.use_code(session, code_key, mobile=mobile, purpose=CodePurpose.SIGN_UP, code=code)
