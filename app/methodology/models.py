"""Methodology versions as the bureau manages them: draft → submitted → approved (→ retired)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETIRED = "retired"


class MethodologyVersion(Base):
    """One version of one methodology, with the parameters the bureau approved for it.

    Once approved, ``parameters`` never change: a new factor means a new version. Reductions keep
    a reference to the version that computed them, so they can be recomputed exactly.
    """

    __tablename__ = "methodology_versions"
    __table_args__ = (
        sa.UniqueConstraint("code", "version"),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'retired') OR "
            "(effective_from IS NOT NULL AND approved_by_id IS NOT NULL)",
            name="approved_has_date_and_approver",
        ),
        sa.CheckConstraint(
            "approved_by_id IS NULL OR submitted_by_id IS NULL OR approved_by_id <> submitted_by_id",
            name="four_eyes",
        ),
        {"comment": "Bureau-managed versions of the methodology plugins"},
    )

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(64), comment="Plugin code, e.g. bus")
    version: Mapped[str] = mapped_column(sa.String(32), comment="Semantic version, e.g. 1.0.0")
    activity_kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus, "version_status"), default=VersionStatus.DRAFT
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(
        comment="Parameter values as JSON (decimals as strings); frozen once approved"
    )
    parameter_notes: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="Per-parameter note on the source of an edited value"
    )
    effective_from: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="From this instant the version credits activities"
    )
    effective_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Set when superseded or retired; empty while open-ended"
    )
    created_at: Mapped[created_at]
    submitted_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(sa.Text)
