"""Test data made through the same services the platform uses."""

from __future__ import annotations

import itertools

import pyotp
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, object_session

from app import clock, context
from app.accounts import consents, services, sessions
from app.accounts.models import MerchantRole, OrganisationKind, SecondFactor, User
from app.accounts.roles import STAFF_ROLES, Role
from app.audit.services import SYSTEM
from app.config import NOTICE_VERSION
from app.db import db
from app.merchants.models import Merchant, MerchantKind, MerchantStatus

PASSWORD = "green2026pass"
_mobiles = itertools.count(13500000000)


def next_mobile() -> str:
    return str(next(_mobiles))


def make_user(session: Session, role: Role = Role.RESIDENT, **fields: object) -> User:
    mobile = str(fields.pop("mobile", None) or next_mobile())
    name = str(fields.pop("display_name", f"{role.value} {mobile[-4:]}"))
    if role == Role.RESIDENT:
        user = services.register_resident(
            session, mobile=mobile, password=PASSWORD, display_name=name
        )
        consents.record_notice(session, user.id, version=NOTICE_VERSION, channel="web")
        return user
    if role == Role.ORGANISATION:
        user = services.register_organisation(
            session, mobile=mobile, password=PASSWORD, name=name,
            kind=OrganisationKind.ENTERPRISE, credit_code=None,
        )  # fmt: skip
        consents.record_notice(session, user.id, version=NOTICE_VERSION, channel="web")
        return user
    if role == Role.MERCHANT_STAFF:
        merchant = Merchant(name="测试商户", kind=MerchantKind.SHOP, status=MerchantStatus.APPROVED)
        session.add(merchant)
        session.flush()
        return services.create_merchant_staff(
            session, SYSTEM, merchant_id=merchant.id,
            merchant_role=MerchantRole(str(fields.pop("merchant_role", "manager"))),
            mobile=mobile, password=PASSWORD, display_name=name,
        )  # fmt: skip
    assert role in STAFF_ROLES
    return services.create_staff(
        session, SYSTEM, mobile=mobile, password=PASSWORD, display_name=name, role=role
    )


def log_in(client: FlaskClient, user: User) -> None:
    """Start a web session for ``user`` without going through the sign-in form (nor, for staff,
    the second factor)."""
    marks = sessions.marks(user)
    with client.application.app_context():
        sessions.record(db.session, user.id, marks["sid"], ip="127.0.0.1", user_agent="test")
        db.session.commit()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = str(user.id)
        flask_session["_fresh"] = True
        flask_session.update(marks)


#: Each code page and the address its "text me a code" button posts to.
CODE_PAGES = {
    "sign_up": ("/sign-up", "/sign-up/code"),
    "sign_in": ("/sign-in/code", "/sign-in/code/send"),
    "reset": ("/reset-password", "/reset-password/code"),
}


def texted_code(client: FlaskClient, mobile: str, purpose: str = "sign_up") -> str | None:
    """Ask the page for a code as a person does; the code the console sender texted, if any."""
    page, send = CODE_PAGES[purpose]
    client.post(send, data={"csrf_token": csrf_token_from(client, page), "mobile": mobile})
    sender = context.of(client.application).sms_sender
    return sender.latest_code(mobile, purpose)  # type: ignore[attr-defined]


def texted_code_by_api(client: FlaskClient, mobile: str, purpose: str = "sign_up") -> str | None:
    """Ask the API for a code; the code the console sender texted, if any."""
    client.post("/api/v1/auth/sms-codes", json={"mobile": mobile, "purpose": purpose})
    sender = context.of(client.application).sms_sender
    return sender.latest_code(mobile, purpose)  # type: ignore[attr-defined]


def csrf_token_from(client: FlaskClient, url: str) -> str:
    """The CSRF token a page hands out (from its <meta name="csrf-token">)."""
    html = client.get(url).get_data(as_text=True)
    return html.split('name="csrf-token" content="')[1].split('"')[0]


def credentials(user: User, password: str = PASSWORD) -> dict[str, str]:
    """What ``POST /api/v1/auth/tokens`` takes for ``user``: staff also give a fresh code."""
    body = {"mobile": user.mobile, "password": password}
    if user.role in STAFF_ROLES:
        body["otp"] = staff_code(user)
    return body


def staff_code(user: User) -> str:
    """A code the staff member's authenticator shows now, enrolling them first if need be.

    Each call may use the code of the current step again: tests sign in many times a second.
    """
    session = object_session(user)
    assert session is not None
    factor = session.get(SecondFactor, user.id)
    if factor is None:
        factor = SecondFactor(
            user_id=user.id, secret=pyotp.random_base32(), confirmed_at=clock.now()
        )
        session.add(factor)
    factor.last_step = None
    session.flush()
    return pyotp.TOTP(factor.secret).at(clock.now())
