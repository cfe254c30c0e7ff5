"""Filing batches (打包申报批次), their lines, and carbon-neutral event claims (大型活动碳中和)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum


class BatchStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


#: Statuses after which a batch is filed: nothing about it changes any more except the registry's
#: decision on a submitted batch.
FILED = frozenset({BatchStatus.SUBMITTED, BatchStatus.ACCEPTED, BatchStatus.REJECTED})


class FilingBatch(Base):
    """Verified reductions of one methodology version and one calendar month, bundled for filing.

    Totals, the manifest and the summary are made and stored when the batch is made; lines.csv is
    rebuilt from the stored lines on download and checked against the manifest's hash first.
    """

    __tablename__ = "filing_batches"
    __table_args__ = (
        sa.CheckConstraint("period_end > period_start", name="period_not_empty"),
        sa.CheckConstraint(
            "first_approved_by_id IS NULL OR second_approved_by_id IS NULL "
            "OR first_approved_by_id <> second_approved_by_id",
            name="two_different_approvers",
        ),
        sa.CheckConstraint(
            "created_by_id IS NULL OR ("
            "(first_approved_by_id IS NULL OR first_approved_by_id <> created_by_id) AND "
            "(second_approved_by_id IS NULL OR second_approved_by_id <> created_by_id))",
            name="creator_does_not_approve",
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'rejected') OR second_approved_by_id IS NOT NULL",
            name="approved_twice_before_filing",
        ),
        sa.CheckConstraint(
            "status NOT IN ('submitted', 'accepted') OR registry_reference IS NOT NULL",
            name="submitted_has_reference",
        ),
        sa.CheckConstraint("total_g >= 0 AND activities >= 0 AND participants >= 0", name="totals"),
        sa.Index("ix_filing_batches_version_period", "methodology_version_id", "period_start"),
        {"comment": "Batches of verified reductions for voluntary-offset filing"},
    )

    id: Mapped[intpk]
    serial: Mapped[str] = mapped_column(
        sa.String(32), unique=True, comment="Serial number, TPH-<yyyymm>-<id>"
    )
    status: Mapped[BatchStatus] = mapped_column(
        str_enum(BatchStatus, "batch_status"), default=BatchStatus.DRAFT, index=True
    )
    period_start: Mapped[date] = mapped_column(comment="First local day of the month covered")
    period_end: Mapped[date] = mapped_column(comment="First local day after the period")
    timezone: Mapped[str] = mapped_column(sa.String(64), comment="Zone the period is counted in")
    methodology_version_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("methodology_versions.id")
    )
    methodology_code: Mapped[str] = mapped_column(sa.String(64))
    methodology_version: Mapped[str] = mapped_column(
        sa.String(48), comment="Version label, e.g. 1.0.0 or 1.0.0-p2"
    )
    plugin_version: Mapped[str] = mapped_column(
        sa.String(32), comment="Version of the plugin that recomputes the lines"
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(
        comment="The version's frozen parameters, copied into the manifest"
    )
    activities: Mapped[int] = mapped_column(comment="Number of lines (one per activity)")
    participants: Mapped[int] = mapped_column(comment="Distinct participants in the lines")
    total_g: Mapped[int] = mapped_column(
        sa.BigInteger, comment="Sum of the lines' reductions, grams CO2e"
    )
    manifest: Mapped[str] = mapped_column(
        sa.Text, comment="manifest.json exactly as packaged (per-file SHA-256 and the root hash)"
    )
    summary_html: Mapped[str] = mapped_column(
        sa.Text, comment="summary.html exactly as packaged: the readable page in Chinese"
    )
    root_hash: Mapped[str] = mapped_column(
        sa.String(64), comment="SHA-256 over the sorted 'name:sha256' lines of the package files"
    )
    created_at: Mapped[created_at]
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="Staff who bundled it; empty for the job"
    )
    first_approved_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    first_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    second_approved_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    second_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registry_reference: Mapped[str | None] = mapped_column(
        sa.String(128), comment="The registry's reference for the submission"
    )
    decided_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it was recorded as accepted or rejected"
    )
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)


class FilingLine(Base):
    """One verified reduction in one batch.

    ``active`` is true while the batch is not rejected; the partial unique index on
    ``reduction_id`` where active is what keeps a reduction in at most one live batch, whatever
    runs at the same time.

    The columns carry no foreign keys on purpose: a million lines are written by one
    INSERT … SELECT from ``reductions`` in the transaction that made the batch, so both parents
    exist by construction and are never deleted, and two foreign-key checks per line would cost
    more than the whole rest of bundling.
    """

    __tablename__ = "filing_lines"
    __table_args__ = (
        sa.Index(
            "ux_filing_lines_active_reduction",
            "reduction_id",
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        ),
        sa.CheckConstraint("reduction_g >= 0", name="reduction_not_negative"),
        {"comment": "Reductions bundled into filing batches"},
    )

    batch_id: Mapped[int] = mapped_column(BigId, primary_key=True, comment="filing_batches.id")
    reduction_id: Mapped[int] = mapped_column(BigId, primary_key=True, comment="reductions.id")
    reduction_g: Mapped[int] = mapped_column(
        sa.BigInteger, comment="The reduction's grams CO2e when bundled"
    )
    active: Mapped[bool] = mapped_column(
        default=True, comment="False once the batch is rejected: the reduction is free again"
    )


class ClaimStatus(enum.StrEnum):
    """A claim is a request until the bureau decides; only an approved claim retires tonnes."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class OffsetClaim(Base):
    """An organisation asks to offset an event with tonnes from accepted batches; once the bureau
    approves, they are retired and the claim's certificate is public."""

    __tablename__ = "offset_claims"
    __table_args__ = (
        sa.CheckConstraint("claimed_g > 0", name="claims_something"),
        sa.CheckConstraint(
            "(status = 'approved') = (serial IS NOT NULL)", name="certificate_only_when_approved"
        ),
        {"comment": "Carbon-neutral events: tonnes retired from accepted filing batches"},
    )

    id: Mapped[intpk]
    serial: Mapped[str | None] = mapped_column(
        sa.String(32), unique=True, comment="Certificate number, CN-<yyyy>-<n>; set on approval"
    )
    status: Mapped[ClaimStatus] = mapped_column(
        str_enum(ClaimStatus, "claim_status"),
        default=ClaimStatus.REQUESTED,
        server_default=ClaimStatus.REQUESTED.value,
        index=True,
    )
    organisation_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("organisations.id"), index=True
    )
    event_name: Mapped[str] = mapped_column(sa.String(128))
    event_date: Mapped[date] = mapped_column(comment="Local date of the event")
    claimed_g: Mapped[int] = mapped_column(
        sa.BigInteger, comment="Grams CO2e retired for the event (1 t = 1,000,000 g)"
    )
    claimed_by_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[created_at]
    decided_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="Bureau staff who approved or rejected"
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(256))


class OffsetAllocation(Base):
    """Which accepted batch the grams of a claim came from."""

    __tablename__ = "offset_allocations"
    __table_args__ = (
        sa.CheckConstraint("retired_g > 0", name="retires_something"),
        {"comment": "Grams retired from each batch for each offset claim"},
    )

    claim_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("offset_claims.id"), primary_key=True
    )
    batch_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("filing_batches.id"), primary_key=True, index=True
    )
    retired_g: Mapped[int] = mapped_column(sa.BigInteger, comment="Grams CO2e retired")


class ParticipantPseudonym(Base):
    """The id a participant has in filing packages, made once so every package stays rebuildable
    even if the key that made it is rotated."""

    __tablename__ = "participant_pseudonyms"
    __table_args__ = ({"comment": "Pseudonymous participant ids used in filing packages"},)

    participant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(
        sa.String(32), unique=True, comment="HMAC-SHA-256 of the participant id, 32 hex digits"
    )
