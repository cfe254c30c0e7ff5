"""Who is calling (session cookie for pages, bearer token for the API) and may they do this."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, g, request
from flask_login import current_user

from app.accounts import services
from app.accounts.models import User
from app.accounts.roles import PRIVILEGED, Permission
from app.audit import services as audit
from app.audit.services import Actor
from app.db import db
from app.extensions import csrf, login_manager

F = TypeVar("F", bound=Callable[..., Any])


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.is_active else None


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
    """Record the refused attempt and keep it although the request ends in an error.

    Nothing else has been written yet: the check runs before the view does anything.
    """
    audit.record(
        db.session,
        current_actor(),
        "access.denied",
        "route",
        request.endpoint,
        {"permission": permission.value, "method": request.method, "path": request.path},
    )
    g.commit_despite_error = True
