"""Web sessions that end: at sign-out, at a password change, at deactivation, when idle, and at
their absolute lifetime.

The session cookie is signed, not stored, so ending it anywhere else means refusing it: each
account has a session version (``users.session_version``) that sign-out, a password change and
an admin's deactivation bump. A session remembers the version it started under, when it started
and when it was last used; a session of an older version, idle longer than
``SESSION_IDLE_SECONDS`` or older than ``SESSION_LIFETIME_SECONDS`` no longer signs anyone in.
API tokens carry the version they were issued under, so the same bump ends them too.

At sign-in and sign-out the session is emptied, so its id (``sid``) and Flask-WTF's CSRF secret
are new. Each session also has a row (``user_sessions``, keyed by the SHA-256 of its id) saying
where and when it started and was last used, so its holder sees it and ends it from anywhere: a
session whose row has ended, or that has no row, signs nobody in. A session's and a token's last
use is written after the request, at most once a minute.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, g, request, session
from flask_login import login_user, logout_user
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import ApiToken, User, UserSession
from app.db import db
from app.errors import NotFound

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


def sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def current_sid_hash() -> str | None:
    sid = session.get("sid")
    return sid_hash(sid) if isinstance(sid, str) else None


def record(
    db_session: Session, user_id: int, sid: str, *, ip: str | None, user_agent: str | None
) -> UserSession:
    """The row of a new session: where and when it started."""
    now = clock.now()
    row = UserSession(
        user_id=user_id, sid_hash=sid_hash(sid), created_at=now, last_seen_at=now,
        ip_address=ip, last_ip=ip, user_agent=(user_agent or "")[:200] or None,
    )  # fmt: skip
    db_session.add(row)
    db_session.flush()
    return row


def start(db_session: Session, user: User) -> None:
    """Sign ``user`` in on this browser with a fresh session (new id, new CSRF secret)."""
    session.clear()
    login_user(user)
    session.update(marks(user))
    record(
        db_session, user.id, session["sid"],
        ip=request.remote_addr, user_agent=request.headers.get("User-Agent"),
    )  # fmt: skip


def end(db_session: Session, user_id: int | None) -> None:
    """Sign out: every session and API token of the account ends, this one included."""
    if user_id is not None:
        bump(db_session, user_id)
        end_rows(db_session, user_id)
    logout_user()
    session.clear()


def end_rows(db_session: Session, user_id: int, *, keep: str | None = None) -> int:
    """Mark the account's session rows ended (but ``keep``, a sid hash); how many."""
    result = db_session.execute(
        sa.update(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
            UserSession.sid_hash != (keep or ""),
        )
        .values(ended_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


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


def still_valid(db_session: Session, user: User) -> bool:
    """Whether this request's session may go on signing ``user`` in (and note its use)."""
    now = int(clock.now().timestamp())
    signed_in_at, seen_at = session.get("signed_in_at"), session.get("seen_at")
    digest = current_sid_hash()
    if (
        session.get("sv") != user.session_version
        or not isinstance(signed_in_at, int)
        or not isinstance(seen_at, int)
        or now - signed_in_at > current_app.config["SESSION_LIFETIME_SECONDS"]
        or now - seen_at > current_app.config["SESSION_IDLE_SECONDS"]
        or digest is None
        or not _row_live(db_session, user.id, digest)
    ):
        session.clear()
        return False
    if now - seen_at >= _SEEN_RESOLUTION_SECONDS:
        session["seen_at"] = now
        g.session_used = digest
    return True


def _row_live(db_session: Session, user_id: int, digest: str) -> bool:
    return (
        db_session.scalar(
            sa.select(UserSession.id).where(
                UserSession.sid_hash == digest,
                UserSession.user_id == user_id,
                UserSession.ended_at.is_(None),
            )
        )
        is not None
    )


def token_used(token_id: int, last_used_at: datetime | None) -> None:
    """Note a call made with API token ``token_id`` (written after the request, if due)."""
    now = clock.now()
    if last_used_at is not None and last_used_at.tzinfo is None:
        last_used_at = last_used_at.replace(tzinfo=UTC)
    if last_used_at is None or (now - last_used_at).total_seconds() >= _SEEN_RESOLUTION_SECONDS:
        g.token_used = token_id


def write_last_use(response: Response) -> Response:
    """After a successful request: when and where its session or token was last used."""
    digest, token_id = g.pop("session_used", None), g.pop("token_used", None)
    if response.status_code >= 400 or (digest is None and token_id is None):
        return response
    db.writing()
    now, ip = clock.now(), request.remote_addr
    if digest is not None:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.sid_hash == digest)
            .values(last_seen_at=now, last_ip=ip)
            .execution_options(synchronize_session=False)
        )
    if token_id is not None:
        db.session.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=now, last_used_ip=ip)
            .execution_options(synchronize_session=False)
        )
    return response


def active(
    db_session: Session, user_id: int, *, idle_seconds: int, lifetime_seconds: int
) -> list[UserSession]:
    """The account's sessions that still sign someone in, most recently used first."""
    now = clock.now()
    return list(
        db_session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.ended_at.is_(None),
                UserSession.last_seen_at >= now - timedelta(seconds=idle_seconds),
                UserSession.created_at >= now - timedelta(seconds=lifetime_seconds),
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def active_tokens(db_session: Session, user_id: int) -> list[ApiToken]:
    """The account's API tokens that still sign calls in, newest first."""
    return list(
        db_session.scalars(
            sa.select(ApiToken)
            .join(User, User.id == ApiToken.user_id)
            .where(
                ApiToken.user_id == user_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > clock.now(),
                ApiToken.session_version == User.session_version,
            )
            .order_by(ApiToken.id.desc())
        )
    )


def end_one(db_session: Session, user_id: int, session_id: int) -> None:
    """End one of the account's sessions (404 when it is not theirs or has ended)."""
    ended = db_session.execute(
        sa.update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
        )
        .values(ended_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not ended:
        raise NotFound("session")


def revoke_token(db_session: Session, user_id: int, token_id: int) -> None:
    """Revoke one of the account's API tokens (404 when it is not theirs or is revoked)."""
    revoked = db_session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.id == token_id,
            ApiToken.user_id == user_id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not revoked:
        raise NotFound("token")


def erase(db_session: Session, user_id: int) -> None:
    """Forget every session and API token of the account (a closed account's erasure)."""
    db_session.execute(sa.delete(UserSession).where(UserSession.user_id == user_id))
    db_session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user_id))
