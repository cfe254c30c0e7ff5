"""JSON API for accounts: tokens, sign-up, the caller's account, organisation members and
invitations, staff."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint, abort

from app import context as edge
from app.accounts import (
    approvals,
    codes,
    memberships,
    schemas,
    services,
    sign_up,
    two_factor,
)
from app.accounts.auth import bearer_token, current_actor, requires
from app.accounts.models import User
from app.accounts.roles import STAFF_ROLES, Permission, Role
from app.accounts.sign_in import (
    code_request_limits,
    keeping_wrong_password_audit,
    masked_account,
    password_change_limits,
    sign_in_limits,
)
from app.api.pagination import PageArgs, keyset_page, page_schema
from app.context import city_zone
from app.db import db
from app.error_handlers import keeping_writes
from app.errors import DomainError
from app.observability import security_event

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts and staff")
PUBLIC: list[dict[str, list[str]]] = []  # routes open without credentials


@blp.post("/auth/tokens")
@blp.arguments(schemas.CredentialsIn())
@blp.response(201, schemas.TokenOut)
@blp.doc(security=PUBLIC)
@sign_in_limits
def create_token(credentials: dict[str, Any]) -> dict[str, Any]:
    """Exchange a mobile number and password for a bearer token."""
    otp = credentials.pop("otp")
    user = services.authenticate(db.session, **credentials)
    if user is None:
        g.sign_in_failed = True
        security_event(
            "sign_in", "failure", account=masked_account(credentials["mobile"]), via="api"
        )
        abort(401, message=str(_l("Wrong mobile number or password.")), reason="bad_credentials")
    if two_factor.required_for(user):
        _second_factor(user, otp)
    token, expires_at = services.issue_api_token(
        db.session, user, lifetime_seconds=current_app.config["API_TOKEN_LIFETIME_SECONDS"],
        ip=request.remote_addr,
    )  # fmt: skip
    security_event("sign_in", "success", user_id=user.id, via="api")
    security_event("api_token.create", "success", user_id=user.id, expires_at=expires_at)
    return {"token": token, "expires_at": expires_at}


@blp.post("/auth/sms-codes")
@blp.arguments(schemas.SmsCodeIn())
@blp.response(202, schemas.SmsCodeOut)
@blp.doc(security=PUBLIC)
@code_request_limits
def request_sms_code(data: dict[str, Any]) -> dict[str, Any]:
    """Text a 6-digit code to a number: to sign up with it, to sign in or to reset a password.

    Limited per number and per address; a code replaces the number's earlier one for the same
    purpose. 503 when the SMS gateway could not send it (no code is then valid).
    """
    mobile, purpose = services.normalise_mobile(data["mobile"]), data["purpose"]
    g.code_requested = True
    if codes.should_send(db.session, mobile, purpose):
        with keeping_writes():
            codes.send_code(
                db.session, edge.sms_sender(), edge.code_key(), mobile=mobile, purpose=purpose
            )
    security_event("sms_code", "requested", account=masked_account(mobile), purpose=purpose.value)
    return {"expires_in_seconds": int(codes.CODE_LIFETIME.total_seconds())}


@blp.post("/auth/tokens/by-code")
@blp.arguments(schemas.CodeCredentialsIn())
@blp.response(201, schemas.TokenOut)
@blp.doc(security=PUBLIC)
@sign_in_limits
def create_token_by_code(credentials: dict[str, Any]) -> dict[str, Any]:
    """Exchange a mobile number and the code texted to it for signing in for a bearer token."""
    try:
        with keeping_writes():
            user = codes.sign_in_by_code(db.session, edge.code_key(), **credentials)
    except DomainError:
        g.sign_in_failed = True
        security_event(
            "sign_in", "failure", account=masked_account(credentials["mobile"]), via="api_code"
        )
        raise
    token, expires_at = services.issue_api_token(
        db.session, user, lifetime_seconds=current_app.config["API_TOKEN_LIFETIME_SECONDS"]
    )
    security_event("sign_in", "success", user_id=user.id, via="api_code")
    security_event("api_token.create", "success", user_id=user.id, expires_at=expires_at)
    return {"token": token, "expires_at": expires_at}


@blp.post("/auth/password-reset")
@blp.arguments(schemas.PasswordResetIn())
@blp.response(204)
@blp.doc(security=PUBLIC)
def reset_password(data: dict[str, Any]) -> None:
    """Choose a new password with the code texted for reset; every session and token ends."""
    with keeping_writes():
        user = codes.reset_password(db.session, edge.code_key(), **data)
    security_event("password.reset", "success", user_id=user.id, via="api")


def _second_factor(user: User, otp: str | None) -> None:
    """Staff give their authenticator's code with the password; a wrong one counts as a failed
    sign-in."""
    if not otp:
        g.sign_in_failed = True
        abort(
            401,
            message=str(_l("Staff accounts also give the code from their authenticator (otp).")),
            reason="second_factor_required",
        )
    try:
        two_factor.check(db.session, user.id, otp)
    except DomainError as error:
        g.sign_in_failed = True
        security_event("sign_in.second_factor", "failure", user_id=user.id, reason=error.reason)
        raise


@blp.delete("/auth/tokens/current")
@blp.response(204)
def revoke_current_token() -> None:
    """Revoke the bearer token this request was made with."""
    token = bearer_token()
    if token is None or not current_user.is_authenticated:
        abort(401)
    services.revoke_api_token(db.session, token)
    security_event("api_token.revoke", "success", user_id=current_user.id)


def _signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Any signed-in account may call the view; others get 401 before the body is read."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            abort(401)
        return view(*args, **kwargs)

    return wrapper


@blp.post("/me/password")
@_signed_in
@blp.arguments(schemas.PasswordChangeIn())
@blp.response(204)
@password_change_limits
def change_password(data: dict[str, Any]) -> None:
    """Change the caller's password, giving the current one (audited). Every other bearer token
    of the account is revoked; the one this request was made with stays valid. Wrong current
    passwords are limited per account."""
    with keeping_wrong_password_audit():
        services.change_password(
            db.session, current_actor(), _caller(), keep_token=bearer_token(), **data
        )
    security_event("password.change", "success", user_id=current_user.id, via="api")


@blp.post("/residents")
@blp.arguments(schemas.ResidentSignUpIn())
@blp.response(201, schemas.MeOut)
@blp.doc(security=PUBLIC)
def sign_up_resident(data: dict[str, Any]) -> User:
    """Sign up as a resident with the code texted to the number, accepting the privacy notice
    (its version, the time and this channel are recorded)."""
    accepted = data.pop("accept_privacy_notice")
    with keeping_writes():
        return sign_up.resident(
            db.session, edge.code_key(), **data, accepted_notice=accepted,
            notice_version=str(current_app.config["PRIVACY_NOTICE_VERSION"]), channel="api",
        )  # fmt: skip


@blp.post("/organisations")
@blp.arguments(schemas.OrganisationSignUpIn())
@blp.response(201, schemas.MeOut)
@blp.doc(security=PUBLIC)
def sign_up_organisation(data: dict[str, Any]) -> User:
    """Sign up an enterprise or social group with the code texted to the contact's number
    (``purpose`` sign_up), accepting the privacy notice (its version, the time and this channel
    are recorded)."""
    accepted = data.pop("accept_privacy_notice")
    with keeping_writes():
        return sign_up.organisation(
            db.session, edge.code_key(), **data, accepted_notice=accepted,
            notice_version=str(current_app.config["PRIVACY_NOTICE_VERSION"]), channel="api",
        )  # fmt: skip


@blp.get("/me")
@blp.response(200, schemas.MeOut)
def me() -> User:
    """The account making the request."""
    if not current_user.is_authenticated:
        abort(401)
    return db.session.get_one(User, current_user.id)  # a token's principal is plain values


@blp.get("/organisation/members")
@requires(Permission.MANAGE_ORGANISATION)
@blp.response(200, schemas.MemberOut(many=True))
def list_members() -> list[User]:
    """The residents who belong to the caller's organisation."""
    org = services.organisation_of(db.session, current_user)
    return memberships.members_of(db.session, org)


@blp.get("/organisation/invitations")
@requires(Permission.MANAGE_ORGANISATION)
@blp.response(200, schemas.InvitationOut(many=True))
def list_invitations() -> list[Any]:
    """Invitations the caller's organisation sent that nobody has answered yet."""
    org = services.organisation_of(db.session, current_user)
    return memberships.invitations_sent(db.session, org)


@blp.post("/organisation/invitations")
@requires(Permission.MANAGE_ORGANISATION)
@blp.arguments(schemas.InvitationIn())
@blp.response(202, schemas.InvitationOut)
def invite(data: dict[str, Any]) -> Any:
    """Invite the holder of a mobile number to join; the answer is the same whether or not
    anyone has signed up with it. The resident accepts or declines on their page."""
    org = services.organisation_of(db.session, current_user)
    return memberships.invite(
        db.session, current_actor(), org, _invitation_rules(), mobile=data["mobile"]
    )


@blp.get("/me/invitations")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.ReceivedInvitationOut(many=True))
def received_invitations() -> list[dict[str, Any]]:
    """Invitations to join an organisation waiting for the caller's answer."""
    return [
        {"id": invitation.id, "organisation": organisation, "status": invitation.status,
         "created_at": invitation.created_at}
        for invitation, organisation in memberships.invitations_for(db.session, _caller())
    ]  # fmt: skip


@blp.post("/me/invitations/<int:invitation_id>/accept", endpoint="accept_invitation")
@blp.post("/me/invitations/<int:invitation_id>/decline", endpoint="decline_invitation")
@requires(Permission.USE_WALLET)
@blp.response(204)
def answer_invitation(invitation_id: int) -> None:
    """Accept (and become a member) or decline an invitation sent to the caller's number."""
    accept = request.path.endswith("/accept")
    memberships.answer(db.session, current_actor(), _caller(), invitation_id, accept=accept)


@blp.delete("/organisation/members/<int:resident_id>")
@requires(Permission.MANAGE_ORGANISATION)
@blp.response(204)
def remove_member(resident_id: int) -> None:
    """Remove a resident from the caller's organisation."""
    org = services.organisation_of(db.session, current_user)
    memberships.remove_member(db.session, org, resident_id)


@blp.get("/bureau/staff")
@requires(Permission.MANAGE_STAFF)
@blp.arguments(PageArgs(), location="query")
@blp.response(200, page_schema(schemas.StaffOut, "StaffPage"))
def list_staff(page: dict[str, Any]) -> dict[str, Any]:
    """Bureau and verifier staff accounts, newest first."""
    stmt = sa.select(User).where(User.role.in_(STAFF_ROLES))
    return keyset_page(db.session, stmt, User.id, **page)


@blp.post("/bureau/staff")
@requires(Permission.MANAGE_STAFF)
@blp.arguments(schemas.StaffIn())
@blp.response(201, schemas.StaffOut)
@blp.alt_response(202, schema=schemas.ApprovalOut, description="A bureau admin: requested")
def create_staff(data: dict[str, Any]) -> Any:
    """Create a bureau reviewer or verifier account (audited). A bureau admin account is only
    requested (202): it exists once a second, different admin approves it."""
    if data["role"] == Role.BUREAU_ADMIN:
        data.pop("role")
        request_ = approvals.request_admin(db.session, current_actor(), **data)
        return approval_response(request_)
    return services.create_staff(db.session, current_actor(), **data)


@blp.post("/bureau/staff/<int:user_id>/role")
@requires(Permission.MANAGE_STAFF)
@blp.arguments(schemas.StaffRoleIn())
@blp.response(202, schemas.ApprovalOut)
def request_role_change(data: dict[str, Any], user_id: int) -> Any:
    """Ask to give a staff account another role; a second, different admin decides."""
    return approvals.request_role_change(db.session, current_actor(), user_id, data["role"])


def approval_response(request_: Any) -> Response:
    """202 with the approval request: what a second admin must now decide."""
    response = jsonify(schemas.ApprovalOut().dump(request_))
    response.status_code = 202
    return response


@blp.patch("/bureau/staff/<int:user_id>")
@requires(Permission.MANAGE_STAFF)
@blp.arguments(schemas.StaffActiveIn())
@blp.response(200, schemas.StaffOut)
def set_staff_active(data: dict[str, Any], user_id: int) -> User:
    """Enable or disable a staff account (audited)."""
    return services.set_active(db.session, current_actor(), user_id, active=data["is_active"])


def _invitation_rules() -> memberships.InvitationRules:
    return memberships.InvitationRules(
        daily_limit=current_app.config["INVITATIONS_PER_ORGANISATION_PER_DAY"], tz=city_zone()
    )


def _caller() -> User:
    """The caller's account: the token's principal carries no mobile number."""
    return db.session.get_one(User, current_user.id)
