"""Web sessions that end: at sign-out, at a password change, at deactivation, when idle, and at
their absolute lifetime.

The session cookie is signed, not stored, so ending it anywhere else means refusing it: each
account has a session version (``users.session_version``) that sign-out, a password change and
an admin's deactivation bump. A session remembers the version it started under, when it started
and when it was last used; a session of an older version, idle longer than
``SESSION_IDLE_SECONDS`` or older than ``SESSION_LIFETIME_SECONDS`` no longer signs anyone in.
API tokens carry the version they were issued under, so the same bump ends them too.

At sign-in and sign-out the session is emptied, so its id (``sid``) and Flask-WTF's CSRF secret
are new.
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import User

#: A session's last use is written back at most this often (each write is a new cookie).
_SEEN_RESOLUTION_SECONDS = 60


def marks(user: User, now: float | None = None) -> dict[str, Any]:
    """What a new session of ``user`` holds besides Flask-Login's own keys."""
    now = clock.now().timestamp() if now is None else now
    return {
        "sid": secrets.token_urlsafe(16),
        "sv": user.session_version,
        "signed_in_at": int(now),
        "seen_at": int(now),
    }


def start(user: User) -> None:
    """Sign ``user`` in on this browser with a fresh session (new id, new CSRF secret)."""
    session.clear()
    login_user(user)
    session.update(marks(user))


def end(db_session: Session, user_id: int | None) -> None:
    """Sign out: every session and API token of the account ends, this one included."""
    if user_id is not None:
        bump(db_session, user_id)
    logout_user()
    session.clear()


def bump(db_session: Session, user_id: int) -> int:
    """End every session and API token of the account; the new version."""
    db_session.execute(
        sa.update(User)
        .where(User.id == user_id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    version = db_session.scalar(sa.select(User.session_version).where(User.id == user_id))
    db_session.flush()
    return int(version or 0)


def carry_on(user: User) -> None:
    """After a change that ended the account's other sessions (a password change made on this
    page), this session goes on under the account's new version."""
    if session.get("_user_id") == str(user.id):
        session["sv"] = user.session_version


def still_valid(user: User) -> bool:
    """Whether this request's session may go on signing ``user`` in (and note its use)."""
    now = int(clock.now().timestamp())
    signed_in_at, seen_at = session.get("signed_in_at"), session.get("seen_at")
    if (
        session.get("sv") != user.session_version
        or not isinstance(signed_in_at, int)
        or not isinstance(seen_at, int)
        or now - signed_in_at > current_app.config["SESSION_LIFETIME_SECONDS"]
        or now - seen_at > current_app.config["SESSION_IDLE_SECONDS"]
    ):
        session.clear()
        return False
    if now - seen_at >= _SEEN_RESOLUTION_SECONDS:
        session["seen_at"] = now
    return True
