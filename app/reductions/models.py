"""Reductions (减排量): grams CO2e avoided by one activity, recomputable from what is stored."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum


class ReductionStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Reduction(Base):
    """The quantified result of one activity under one methodology version.

    ``quantities``, ``occurred_at`` and ``self_reported`` with the version's parameters reproduce
    ``baseline_g``, ``project_g``, ``reduction_g`` and ``capped`` exactly (``tanpuhui recompute``).
    Only a quantified activity becomes a reduction; one whose quantities cannot be measured at all
    (an unknown station pair, say) is refused before it gets here.
    """

    __tablename__ = "reductions"
    __table_args__ = (
        sa.CheckConstraint("reduction_g >= 0", name="reduction_not_negative"),
        sa.CheckConstraint("baseline_g >= 0 AND project_g >= 0", name="emissions_not_negative"),
        sa.CheckConstraint(
            "credited_g IS NULL OR (credited_g >= 0 AND credited_g <= reduction_g)",
            name="credited_within_reduction",
        ),
        sa.CheckConstraint(
            "cap IS NULL OR cap IN ('methodology_daily', 'methodology_monthly')",
            name="cap_known",
        ),
        sa.Index("ix_reductions_participant_occurred", "participant_id", "occurred_at"),
        sa.Index("ix_reductions_status_version", "status", "methodology_version_id"),
        # The statistics job's span of dates, recomputed every minute while partners report.
        sa.Index("ix_reductions_occurred_at", "occurred_at"),
        # What was verified since the statistics were last computed (in time order: BRIN).
        sa.Index("ix_reductions_verified_at", "verified_at", postgresql_using="brin"),
        {"comment": "Grams CO2e avoided per activity, with the version that computed them"},
    )

    id: Mapped[intpk]
    participant_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="The resident or organisation credited"
    )
    methodology_version_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("methodology_versions.id")
    )
    activity_kind: Mapped[str] = mapped_column(sa.String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When the action happened")
    self_reported: Mapped[bool] = mapped_column(default=False)
    quantities: Mapped[dict[str, Any]] = mapped_column(
        comment="The activity's quantities as the methodology's input schema dumps them"
    )
    baseline_g: Mapped[int] = mapped_column(sa.BigInteger, comment="Baseline emissions, grams CO2e")
    project_g: Mapped[int] = mapped_column(sa.BigInteger, comment="Project emissions, grams CO2e")
    reduction_g: Mapped[int] = mapped_column(
        sa.BigInteger, comment="Reduction credited, grams CO2e (after the per-activity cap)"
    )
    capped: Mapped[bool] = mapped_column(default=False, comment="The per-activity cap applied")
    trace: Mapped[dict[str, Any] | None] = mapped_column(
        comment="The calculation as residents read it: {zh, en}; empty if not explained"
    )
    findings: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON,
        default=list,
        comment="Plausibility findings: [{code, severity, message: {zh, en}}]; flags need review",
    )
    status: Mapped[ReductionStatus] = mapped_column(
        str_enum(ReductionStatus, "reduction_status"), default=ReductionStatus.PENDING
    )
    created_at: Mapped[created_at]
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credited_g: Mapped[int | None] = mapped_column(
        sa.BigInteger,
        comment="Grams credited (points are issued for these) after the methodology's daily and "
        "monthly caps; empty until credited, and for reductions older than the caps: all of them",
    )
    cap: Mapped[str | None] = mapped_column(
        sa.String(32),
        comment="The methodology's cap that held back reduction_g - credited_g: "
        "methodology_daily or methodology_monthly",
    )

    @property
    def capped_g(self) -> int:
        """Grams of the reduction a methodology's cap kept from being credited."""
        return 0 if self.credited_g is None else self.reduction_g - self.credited_g
