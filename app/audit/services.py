"""Writing to the audit log. Nothing here (or anywhere) updates or deletes an entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.flush import before_flush
from app.roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, as plain values the edge builds from the request, a CLI call or a job."""

    user_id: int | None
    role: Role | None
    ip_address: str | None = None
    request_id: str | None = None


SYSTEM = Actor(user_id=None, role=None)


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object | None,
    summary: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction, so it lands exactly when the action does."""
    entry = AuditEntry(
        actor_id=actor.user_id,
        actor_role=actor.role,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        summary=summary or {},
        ip_address=actor.ip_address,
        request_id=actor.request_id,
    )
    session.add(entry)
    session.flush()
    return entry


class AuditLogIsAppendOnly(RuntimeError):
    pass


@before_flush
def _refuse_changes_to_audit_entries(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly("audit log entries cannot be changed or deleted")
