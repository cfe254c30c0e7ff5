"""The audit log: an append-only record of every privileged action."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, created_at, intpk, str_enum
from app.roles import Role


class AuditEntry(Base):
    """Who did what to which object, when, and what changed.

    The application has no code path that updates or deletes an entry; the database refuses it too
    (triggers made by the migration), and the ORM refuses to flush a changed entry.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_object", "object_type", "object_id"),
        {"comment": "Append-only record of privileged actions"},
    )

    id: Mapped[intpk]
    occurred_at: Mapped[created_at]
    actor_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), index=True, comment="Empty for the system or anonymous"
    )
    actor_role: Mapped[Role | None] = mapped_column(str_enum(Role, "actor_role"))
    action: Mapped[str] = mapped_column(sa.String(64), index=True, comment="e.g. staff.create")
    object_type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(comment="What changed, as JSON")
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
