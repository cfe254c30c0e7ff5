"""Who is calling (session cookie for pages, bearer token for the API) and may they do this."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from flask import Flask, Response, abort, current_app, g, request
from flask_login import current_user
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE_NAME

from app.accounts import services, sessions
from app.accounts.models import MerchantRole, User
from app.accounts.roles import PRIVILEGED, Permission, Role, role_has
from app.audit import services as audit
from app.audit.services import Actor
from app.db import db
from app.extensions import csrf, login_manager

F = TypeVar("F", bound=Callable[..., Any])


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or not sessions.still_valid(db.session, user):
        return None
    return user


@login_manager.request_loader
def _load_user_from_bearer_token(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    user = services.user_for_token(db.session, token.strip())
    if user is not None:
        g.authenticated_by_token = True
    return user


@dataclass(frozen=True, slots=True)
class Principal:
    """The account behind a live bearer token, as the plain values the API reads of its caller.

    It answers Flask-Login's user protocol, so ``current_user`` is this on the API's token path.
    """

    id: int
    role: Role
    merchant_id: int | None
    merchant_role: MerchantRole | None
    must_change_password: bool
    #: The privacy notice's version the account accepted last (None: never).
    accepted_notice: str | None

    is_active: ClassVar[bool] = True  # the query admits active accounts only
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    def get_id(self) -> str:
        return str(self.id)

    def can(self, permission: Permission) -> bool:
        return role_has(self.role, permission)


def sign_in_by_bearer_token() -> None:
    """Sign an API call that carries a bearer token (and no cookie) in with one Core query.

    ``current_user`` becomes the token's :class:`Principal`, or anonymous when the token is not
    live, and Flask-Login's loaders (an ORM load of the account) never run. A call that also
    carries the session or remember cookie is left to Flask-Login, whose cookie comes first.
    """
    if not request.path.startswith("/api/"):
        return
    token = bearer_token()
    if token is None:
        return
    cookies = request.cookies
    cookie_names = (current_app.config["SESSION_COOKIE_NAME"], _remember_cookie_name())
    if any(name in cookies for name in cookie_names):
        return
    g.cookieless_token_call = True
    row = services.principal_for_token(db.session.connection(), token)
    if row is None:
        g._login_user = login_manager.anonymous_user()
        return
    *principal, token_id, last_used_at = row
    g._login_user = Principal(*principal)
    g.authenticated_by_token = True
    sessions.token_used(token_id, last_used_at)


def skip_cookie_upkeep_on_token_calls(app: Flask) -> None:
    """Leave out Flask-Login's remember-cookie hook on token calls that brought no cookie.

    They get none either (the hook would only look into the empty session), unless the remember
    cookie is refreshed on every request.
    """
    if app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST"):
        return
    upkeep = login_manager._update_remember_cookie
    hooks = app.after_request_funcs.get(None, [])

    def _unless_token_call(response: Response) -> Response:
        return response if g.get("cookieless_token_call") else upkeep(response)

    hooks[:] = [_unless_token_call if hook == upkeep else hook for hook in hooks]


def _remember_cookie_name() -> str:
    return str(current_app.config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE_NAME))


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


def protect_cookie_api_call() -> None:
    """API calls riding on the session cookie must carry the CSRF token for changes.

    Token-authenticated calls cannot be forged by another site, so they skip the check.
    """
    if request.method in {"GET", "HEAD", "OPTIONS"} or not request.path.startswith("/api/"):
        return
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if current_user.is_authenticated and not g.get("authenticated_by_token"):
        csrf.protect()


def current_actor() -> Actor:
    """The caller as plain values for services and the audit log."""
    user = current_user if current_user.is_authenticated else None
    return Actor(
        user_id=user.id if user else None,
        role=user.role if user else None,
        ip_address=request.remote_addr,
        request_id=g.get("request_id"),
    )


def requires(permission: Permission) -> Callable[[F], F]:
    """Allow the view only to signed-in accounts whose role grants ``permission``.

    Anonymous callers get 401 (pages redirect to sign-in); others get 403. Refusals on privileged
    ground are written to the audit log.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authorize(permission)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def authorize(permission: Permission) -> None:
    if not current_user.is_authenticated:
        if permission in PRIVILEGED:
            _record_refusal(permission)
        abort(401)
    if not current_user.can(permission):
        if permission in PRIVILEGED:
            _record_refusal(permission)
        abort(403)


def _record_refusal(permission: Permission) -> None:
    """Record the refused attempt and commit it, although the request ends in an error.

    Nothing else has been written yet: the check runs before the view does anything.
    """
    db.writing()
    audit.record(
        db.session,
        current_actor(),
        "access.denied",
        "route",
        request.endpoint,
        {"permission": permission.value, "method": request.method, "path": request.path},
    )
    db.session.commit()
