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


class RetirementPurpose(enum.StrEnum):
    """Why units are retired, as registries record it."""

    COMPLIANCE_OFFSET = "compliance_offset"
    EVENT_NEUTRALITY = "event_neutrality"
    VOLUNTARY_CANCELLATION = "voluntary_cancellation"


class OffsetClaim(Base):
    """A retirement: an organisation asks to retire whole units of accepted batches for a
    beneficiary and a purpose; once the bureau approves, the units (:class:`UnitRange` rows naming
    this claim) are retired and the claim's certificate is public."""

    __tablename__ = "offset_claims"
    __table_args__ = (
        sa.CheckConstraint("claimed_g > 0", name="claims_something"),
        sa.CheckConstraint("length(beneficiary) > 0", name="names_a_beneficiary"),
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
    beneficiary: Mapped[str] = mapped_column(
        sa.String(128), comment="On whose behalf the tonnes are retired, as the certificate says"
    )
    purpose: Mapped[RetirementPurpose] = mapped_column(
        str_enum(RetirementPurpose, "retirement_purpose"),
        default=RetirementPurpose.EVENT_NEUTRALITY,
        comment="Why the tonnes are retired",
    )


class ParticipantPseudonym(Base):
    """The id a participant has in filing packages, made once so every package stays rebuildable
    even if the key that made it is rotated."""

    __tablename__ = "participant_pseudonyms"
    __table_args__ = ({"comment": "Pseudonymous participant ids used in filing packages"},)

    participant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(
        sa.String(32), unique=True, comment="HMAC-SHA-256 of the participant id, 32 hex digits"
    )


class UnitState(enum.StrEnum):
    """A unit's one state; only an active unit ever changes, and never back to active."""

    ACTIVE = "active"
    SOLD = "sold"
    RETIRED = "retired"
    CANCELLED = "cancelled"


class UnitIssuance(Base):
    """The units an accepted batch issued: one per whole tonne, numbered 1 … ``units``.

    The grams below the last whole tonne (``remainder_g``) are not a unit: they stay with the
    batch, counted in its total, and are never sold, retired or cancelled.
    """

    __tablename__ = "unit_issuances"
    __table_args__ = (
        sa.CheckConstraint(
            "units >= 0 AND remainder_g >= 0 AND remainder_g < 1000000", name="amounts"
        ),
        {"comment": "Serial-numbered units of accepted filing batches"},
    )

    batch_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("filing_batches.id"), primary_key=True
    )
    prefix: Mapped[str] = mapped_column(
        sa.String(96), unique=True, comment="<city>-<methodology>-<yyyymm>-B<batch id>"
    )
    units: Mapped[int] = mapped_column(sa.BigInteger, comment="Whole tonnes CO2e issued")
    remainder_g: Mapped[int] = mapped_column(comment="Grams below the last whole tonne")
    issued_at: Mapped[created_at]


class UnitSaleStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"


class UnitSale(Base):
    """A pooled sale of active units recorded by the bureau; a second admin approves it."""

    __tablename__ = "unit_sales"
    __table_args__ = (
        sa.CheckConstraint("price_fen_per_tonne > 0", name="price_positive"),
        sa.CheckConstraint("units > 0", name="sells_something"),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> requested_by_id", name="two_people"
        ),
        {"comment": "Pooled sales of units on an exchange"},
    )

    id: Mapped[intpk]
    status: Mapped[UnitSaleStatus] = mapped_column(
        str_enum(UnitSaleStatus, "unit_sale_status"), default=UnitSaleStatus.REQUESTED, index=True
    )
    buyer: Mapped[str] = mapped_column(sa.String(128))
    price_fen_per_tonne: Mapped[int] = mapped_column(sa.BigInteger, comment="Fen per unit")
    sold_on: Mapped[date] = mapped_column(comment="Local date of the trade")
    exchange_reference: Mapped[str] = mapped_column(sa.String(128))
    ranges: Mapped[list[Any]] = mapped_column(
        sa.JSON, comment="The serial ranges sold: [[batch id, first unit, last unit], …]"
    )
    units: Mapped[int] = mapped_column(sa.BigInteger, comment="Units sold")
    requested_by_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[created_at]
    decided_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnitRange(Base):
    """Units ``first_unit`` … ``last_unit`` of one batch, all in one state.

    An operation on part of an active range shortens it and adds rows for the rest, under the
    lock of the batch's issuance row, so the ranges of a batch never overlap and cover it.
    """

    __tablename__ = "unit_ranges"
    __table_args__ = (
        sa.CheckConstraint("first_unit >= 1 AND last_unit >= first_unit", name="range_not_empty"),
        sa.CheckConstraint(
            "(state = 'retired') = (claim_id IS NOT NULL)", name="retired_names_claim"
        ),
        sa.CheckConstraint("(state = 'sold') = (sale_id IS NOT NULL)", name="sold_names_sale"),
        sa.Index("ux_unit_ranges_batch_first", "batch_id", "first_unit", unique=True),
        {"comment": "Serial ranges of units and their state"},
    )

    id: Mapped[intpk]
    batch_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unit_issuances.batch_id"))
    first_unit: Mapped[int] = mapped_column(sa.BigInteger)
    last_unit: Mapped[int] = mapped_column(sa.BigInteger)
    state: Mapped[UnitState] = mapped_column(str_enum(UnitState, "unit_state"), index=True)
    claim_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("offset_claims.id"), index=True, comment="The retirement"
    )
    sale_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("unit_sales.id"), index=True, comment="The sale"
    )
    note: Mapped[str | None] = mapped_column(sa.String(256), comment="Why units were cancelled")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it took this state")


class SaleDistribution(Base):
    """The one run sharing a sale's proceeds; shares are written first, then paid in chunks."""

    __tablename__ = "sale_distributions"
    __table_args__ = ({"comment": "Proceeds of a sale shared back to participants"},)

    sale_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("unit_sales.id"), primary_key=True)
    proceeds_fen: Mapped[int] = mapped_column(sa.BigInteger, comment="Units × price")
    programme_fen: Mapped[int] = mapped_column(sa.BigInteger, comment="The programme's share")
    distributable_fen: Mapped[int] = mapped_column(sa.BigInteger, comment="Shared to people")
    kept_fen: Mapped[int] = mapped_column(
        sa.BigInteger, default=0, comment="Shares of closed accounts, kept for the programme"
    )
    contributed_g: Mapped[int] = mapped_column(sa.BigInteger, comment="Grams in the sold units")
    participants: Mapped[int] = mapped_column()
    paid_as: Mapped[str] = mapped_column(sa.String(8), comment="points or yuan")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[created_at]


class SaleShare(Base):
    """One participant's share of a sale: grams in the sold units, fen, and how it was paid."""

    __tablename__ = "sale_shares"
    __table_args__ = (
        sa.Index("ix_sale_shares_participant", "participant_id"),
        {"comment": "Each participant's share of a sale's proceeds"},
    )

    sale_id: Mapped[int] = mapped_column(BigId, primary_key=True, comment="unit_sales.id")
    participant_id: Mapped[int] = mapped_column(BigId, primary_key=True, comment="users.id")
    grams: Mapped[int] = mapped_column(sa.BigInteger, comment="Their grams in the sold units")
    fen: Mapped[int] = mapped_column(sa.BigInteger, comment="Their share, exact in fen")
    points: Mapped[int | None] = mapped_column(sa.BigInteger, comment="Points paid, if any")
    kept: Mapped[bool] = mapped_column(comment="Account closed: kept for the programme")
    paid: Mapped[bool] = mapped_column(comment="Points posted or yuan owed recorded")


class Donation(Base):
    """A participant gives some of their own verified reductions to an event (an offset claim):
    whole reductions not in any live batch, which are then never bundled, sold or given again."""

    __tablename__ = "donations"
    __table_args__ = (
        sa.CheckConstraint("donated_g > 0", name="gives_something"),
        {"comment": "Reductions given by participants to carbon-neutral events"},
    )

    id: Mapped[intpk]
    claim_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("offset_claims.id"), index=True, comment="The event"
    )
    donor_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    donated_g: Mapped[int] = mapped_column(sa.BigInteger, comment="Grams CO2e given")
    created_at: Mapped[created_at]


class DonatedReduction(Base):
    """One reduction given in a donation; its primary key keeps it given at most once."""

    __tablename__ = "donated_reductions"
    __table_args__ = ({"comment": "The reductions each donation gave"},)

    reduction_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("reductions.id"), primary_key=True
    )
    donation_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("donations.id"), index=True)
