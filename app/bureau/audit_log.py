"""The audit log as the bureau reads it: names, labelled actions, readable details, filters, CSV.

Entries stay as they were stored; this module only chooses and presents them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.labels import action_name, object_type_name, readable
from app.audit.models import AuditEntry
from app.csvcells import safe_cell

#: Rows a CSV export holds at most (the filters narrow a larger log).
CSV_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Filters:
    """What the reader narrowed the log to; every field optional."""

    action: str = ""
    object_type: str = ""
    object_id: str = ""
    actor: str = ""  # an account id or mobile number
    since: date | None = None  # city dates, both included
    until: date | None = None

    def as_args(self) -> dict[str, str]:
        values = {
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "actor": self.actor,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {name: value for name, value in values.items() if value}


def read_filters(args: Mapping[str, str]) -> Filters:
    """Filters from a query string; a value that cannot be read is left out (never an error)."""
    return Filters(
        action=args.get("action", "").strip()[:64],
        object_type=args.get("object_type", "").strip()[:64],
        object_id=args.get("object_id", "").strip()[:64],
        actor=args.get("actor", "").strip()[:32],
        since=_date(args.get("since")),
        until=_date(args.get("until")),
    )


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def entries(filters: Filters, zone: ZoneInfo) -> sa.Select[Any]:
    """The entries that match, as a query the page pages and the CSV streams."""
    stmt = sa.select(AuditEntry)
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.object_type:
        stmt = stmt.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditEntry.object_id == filters.object_id)
    if filters.actor:
        stmt = stmt.where(AuditEntry.actor_id.in_(_actors(filters.actor)))
    if filters.since:
        stmt = stmt.where(AuditEntry.occurred_at >= _start_of(filters.since, zone))
    if filters.until:
        stmt = stmt.where(AuditEntry.occurred_at < _start_of(filters.until + timedelta(1), zone))
    return stmt


def _actors(text: str) -> sa.Select[Any]:
    """Accounts named by id or by mobile number."""
    named = User.mobile == text
    if text.isdigit() and len(text) < 12:
        named = sa.or_(named, User.id == int(text))
    return sa.select(User.id).where(named)


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Row:
    """One entry as people read it."""

    entry: AuditEntry
    actor_name: str | None
    action: str
    object_type: str
    details: list[tuple[str, str]]


def present(session: Session, page: list[AuditEntry]) -> list[Row]:
    """Each entry with its actor's name, its action and object by name, its details as text."""
    ids = {entry.actor_id for entry in page if entry.actor_id is not None}
    names: dict[int, str] = {}
    if ids:
        found = session.execute(sa.select(User.id, User.display_name).where(User.id.in_(ids)))
        names = {user_id: name for user_id, name in found}
    return [
        Row(
            entry=entry,
            actor_name=names.get(entry.actor_id) if entry.actor_id is not None else None,
            action=action_name(entry.action),
            object_type=object_type_name(entry.object_type),
            details=[(str(key), readable(value)) for key, value in (entry.summary or {}).items()],
        )
        for entry in page
    ]


_HEADER = ["id", "occurred_at", "actor_id", "actor", "actor_role", "action", "action_code",
           "object_type", "object_id", "details", "ip_address", "request_id"]  # fmt: skip


def as_csv(session: Session, filters: Filters, zone: ZoneInfo) -> Iterator[str]:
    """The matching entries, newest first, as CSV text in chunks (a BOM first for Excel)."""
    stmt = entries(filters, zone).order_by(AuditEntry.id.desc()).limit(CSV_LIMIT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_HEADER)
    yield "\ufeff" + _taken(out)
    chunk: list[AuditEntry] = []
    for entry in session.scalars(stmt.execution_options(yield_per=500)):
        chunk.append(entry)
        if len(chunk) == 500:
            yield _rows(session, chunk, zone, writer, out)
            chunk = []
    if chunk:
        yield _rows(session, chunk, zone, writer, out)


def _rows(
    session: Session, chunk: list[AuditEntry], zone: ZoneInfo, writer: Any, out: io.StringIO
) -> str:
    for row in present(session, chunk):
        entry = row.entry
        writer.writerow(
            [
                entry.id,
                entry.occurred_at.astimezone(zone).isoformat(timespec="seconds"),
                entry.actor_id or "",
                safe_cell(row.actor_name or ""),
                entry.actor_role.value if entry.actor_role else "",
                safe_cell(row.action),
                entry.action,
                safe_cell(row.object_type),
                safe_cell(entry.object_id or ""),
                safe_cell("; ".join(f"{key}: {value}" for key, value in row.details)),
                entry.ip_address or "",
                entry.request_id or "",
            ]
        )
    return _taken(out)


def _taken(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text
