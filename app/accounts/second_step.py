"""Between a staff member's right password and their second factor.

The browser holds only who passed the password, when, and under which session version; nothing
is signed in until the second factor is given, and the step lapses after five minutes.
"""

from __future__ import annotations

from flask import session
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import User

#: How long a right password waits for its second factor.
STEP_SECONDS = 300
_KEY = "second_step"


def begin(user: User, next_path: str | None) -> None:
    session.clear()
    session[_KEY] = {
        "uid": user.id,
        "sv": user.session_version,
        "at": int(clock.now().timestamp()),
        "next": next_path,
    }


def pending(db_session: Session) -> tuple[User, str | None] | None:
    """The account waiting for its second factor on this browser, and where to go next."""
    step = session.get(_KEY)
    if not isinstance(step, dict):
        return None
    user = db_session.get(User, step.get("uid"))
    age = int(clock.now().timestamp()) - int(step.get("at") or 0)
    if user is None or not user.is_active or user.session_version != step.get("sv"):
        return None
    if not 0 <= age <= STEP_SECONDS:
        return None
    return user, step.get("next")
