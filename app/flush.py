"""The platform's one before-flush listener and the write guards registered on it.

Domains declare their guards with :func:`before_flush` (the append-only audit log, approved
methodology versions, filed batches): each is called with ``(session, flush_context, instances)``
and raises to refuse a change the services should never have made. :func:`install` adds the
single listener on SQLAlchemy sessions, once, from ``create_app``. The guards look only at changed
and deleted objects, so a flush that only inserts skips them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

Guard = Callable[[Session, Any, Any], None]

_guards: list[Guard] = []


def before_flush(guard: Guard) -> Guard:
    """Register ``guard`` to run before every flush that changes or deletes objects."""
    if guard not in _guards:
        _guards.append(guard)
    return guard


def _run_guards(session: Session, flush_context: Any, instances: Any) -> None:
    if not (session.deleted or session.dirty):
        return
    for guard in _guards:
        guard(session, flush_context, instances)


def install() -> None:
    """Listen on every session's flush (idempotent)."""
    if not event.contains(Session, "before_flush", _run_guards):
        event.listen(Session, "before_flush", _run_guards)
