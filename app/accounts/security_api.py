"""JSON API: the caller's sessions and API tokens, and a bureau admin's reset of another staff
member's authenticator."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_login import current_user
from flask_smorest import Blueprint, abort

from app.accounts import schemas, sessions, two_factor
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.db import db
from app.observability import security_event

blp = Blueprint(
    "security_api", __name__, url_prefix="/api/v1", description="Sessions, tokens, second factor"
)


def _caller_id() -> int:
    if not current_user.is_authenticated:
        abort(401)
    return int(current_user.id)


@blp.get("/me/sessions")
@blp.response(200, schemas.SessionOut(many=True))
def list_sessions() -> list[Any]:
    """The caller's signed-in browsers, most recently used first."""
    config = current_app.config
    return sessions.active(
        db.session, _caller_id(),
        idle_seconds=config["SESSION_IDLE_SECONDS"],
        lifetime_seconds=config["SESSION_LIFETIME_SECONDS"],
    )  # fmt: skip


@blp.delete("/me/sessions/<int:session_id>")
@blp.response(204)
def end_session(session_id: int) -> None:
    """End one of the caller's sessions; that browser is signed out at its next request."""
    sessions.end_one(db.session, _caller_id(), session_id)
    security_event("session.end", "success", user_id=current_user.id, via="api")


@blp.get("/me/tokens")
@blp.response(200, schemas.TokenInfoOut(many=True))
def list_tokens() -> list[Any]:
    """The caller's live API tokens: created when and where, last used when and where."""
    return sessions.active_tokens(db.session, _caller_id())


@blp.delete("/me/tokens/<int:token_id>")
@blp.response(204)
def revoke_token(token_id: int) -> None:
    """Revoke one of the caller's API tokens."""
    sessions.revoke_token(db.session, _caller_id(), token_id)
    security_event("api_token.revoke", "success", user_id=current_user.id, via="api")


@blp.post("/bureau/staff/<int:user_id>/second-factor/reset")
@requires(Permission.MANAGE_STAFF)
@blp.response(204)
def reset_second_factor(user_id: int) -> None:
    """Reset another staff member's authenticator (audited; never one's own): they set up a new
    one at their next sign-in, and their sessions and tokens end now."""
    two_factor.reset(db.session, current_actor(), user_id)
