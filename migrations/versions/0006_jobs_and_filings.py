"""jobs and filings

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:03:48.437476
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True, comment="POSIX seconds"),
        sa.Column("job_state", sa.LargeBinary(), nullable=False, comment="Pickled APScheduler job"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
        comment="APScheduler's job store: the schedule of each registered job",
    )

    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apscheduler_jobs_next_run_time"), ["next_run_time"], unique=False
        )

    op.create_table(
        "daily_activity_statistics",
        sa.Column("day", sa.Date(), nullable=False, comment="Local date in the city's zone"),
        sa.Column("activity_kind", sa.String(length=64), nullable=False),
        sa.Column(
            "activities",
            sa.Integer(),
            nullable=False,
            comment="Verified reductions that happened that day",
        ),
        sa.Column(
            "participants", sa.Integer(), nullable=False, comment="Distinct participants among them"
        ),
        sa.Column("reduction_g", sa.BigInteger(), nullable=False, comment="Their sum, grams CO2e"),
        sa.Column("computed_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "activity_kind", name=op.f("pk_daily_activity_statistics")),
        comment="Per local date and activity kind: verified activities",
    )

    op.create_table(
        "daily_totals",
        sa.Column("day", sa.Date(), nullable=False, comment="Local date in the city's zone"),
        sa.Column(
            "participants",
            sa.Integer(),
            nullable=False,
            comment="Distinct participants active that day",
        ),
        sa.Column(
            "participants_to_date",
            sa.Integer(),
            nullable=False,
            comment="Distinct participants with a verified reduction up to the end of that day",
        ),
        sa.Column(
            "points_issued", sa.BigInteger(), nullable=False, comment="Points credited, points"
        ),
        sa.Column(
            "points_redeemed", sa.BigInteger(), nullable=False, comment="Points spent, points"
        ),
        sa.Column(
            "points_expired", sa.BigInteger(), nullable=False, comment="Points expired, points"
        ),
        sa.Column("computed_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_totals")),
        comment="Per local date: participants and points",
    )

    op.create_table(
        "filing_lines",
        sa.Column(
            "batch_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="filing_batches.id",
        ),
        sa.Column(
            "reduction_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="reductions.id",
        ),
        sa.Column(
            "reduction_g",
            sa.BigInteger(),
            nullable=False,
            comment="The reduction's grams CO2e when bundled",
        ),
        sa.Column(
            "active",
            sa.Boolean(),
            nullable=False,
            comment="False once the batch is rejected: the reduction is free again",
        ),
        sa.CheckConstraint("reduction_g >= 0", name=op.f("ck_filing_lines_reduction_not_negative")),
        sa.PrimaryKeyConstraint("batch_id", "reduction_id", name=op.f("pk_filing_lines")),
        comment="Reductions bundled into filing batches",
    )

    with op.batch_alter_table("filing_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ux_filing_lines_active_reduction",
            ["reduction_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True, comment="Empty when free"),
        sa.Column(
            "expires_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="A holder that died frees the lease at this instant",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
        comment="Mutual exclusion of job runs and scheduler processes",
    )

    op.create_table(
        "job_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "job", sa.String(length=64), nullable=False, comment="Name in app/jobs/registry.py"
        ),
        sa.Column("trigger", sa.String(length=16), nullable=False, comment="scheduler or cli"),
        sa.Column(
            "holder",
            sa.String(length=128),
            nullable=False,
            comment="Process that ran it: host:pid:id",
        ),
        sa.Column("started_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "running",
                "succeeded",
                "failed",
                "abandoned",
                name="run_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "counts",
            sa.JSON(),
            nullable=False,
            comment="What the run did, e.g. {'batches': 3, 'lines': 1200}",
        ),
        sa.Column("error", sa.Text(), nullable=True, comment="Exception type and message"),
        sa.CheckConstraint(
            "(outcome = 'running') = (finished_at IS NULL)",
            name=op.f("ck_job_runs_finished_unless_running"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        comment="Every run of a scheduled job, from the scheduler or the command line",
    )

    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_job_started", ["job", "started_at"], unique=False)

    op.create_table(
        "expiry_notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "holder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "points",
            sa.BigInteger(),
            nullable=False,
            comment="Points that expire within the window, points",
        ),
        sa.Column(
            "expires_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the first of those points expire",
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["users.id"], name=op.f("fk_expiry_notices_holder_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expiry_notices")),
        sa.UniqueConstraint(
            "holder_id", "expires_at", name=op.f("uq_expiry_notices_holder_id_expires_at")
        ),
        comment="Wallet reminders of points about to expire",
    )

    with op.batch_alter_table("expiry_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expiry_notices_holder_id"), ["holder_id"], unique=False
        )

    op.create_table(
        "participant_pseudonyms",
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "pseudonym",
            sa.String(length=32),
            nullable=False,
            comment="HMAC-SHA-256 of the participant id, 32 hex digits",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["users.id"],
            name=op.f("fk_participant_pseudonyms_participant_id_users"),
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_participant_pseudonyms")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_participant_pseudonyms_pseudonym")),
        comment="Pseudonymous participant ids used in filing packages",
    )

    op.create_table(
        "filing_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "serial",
            sa.String(length=32),
            nullable=False,
            comment="Serial number, TPH-<yyyymm>-<id>",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "approved",
                "submitted",
                "accepted",
                "rejected",
                name="batch_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "period_start",
            sa.Date(),
            nullable=False,
            comment="First local day of the month covered",
        ),
        sa.Column(
            "period_end", sa.Date(), nullable=False, comment="First local day after the period"
        ),
        sa.Column(
            "timezone",
            sa.String(length=64),
            nullable=False,
            comment="Zone the period is counted in",
        ),
        sa.Column(
            "methodology_version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("methodology_code", sa.String(length=64), nullable=False),
        sa.Column(
            "methodology_version",
            sa.String(length=48),
            nullable=False,
            comment="Version label, e.g. 1.0.0 or 1.0.0-p2",
        ),
        sa.Column(
            "plugin_version",
            sa.String(length=32),
            nullable=False,
            comment="Version of the plugin that recomputes the lines",
        ),
        sa.Column(
            "parameters",
            sa.JSON(),
            nullable=False,
            comment="The version's frozen parameters, copied into the manifest",
        ),
        sa.Column(
            "activities", sa.Integer(), nullable=False, comment="Number of lines (one per activity)"
        ),
        sa.Column(
            "participants",
            sa.Integer(),
            nullable=False,
            comment="Distinct participants in the lines",
        ),
        sa.Column(
            "total_g",
            sa.BigInteger(),
            nullable=False,
            comment="Sum of the lines' reductions, grams CO2e",
        ),
        sa.Column(
            "manifest",
            sa.Text(),
            nullable=False,
            comment="manifest.json exactly as packaged (per-file SHA-256 and the root hash)",
        ),
        sa.Column(
            "summary_html",
            sa.Text(),
            nullable=False,
            comment="summary.html exactly as packaged: the readable page in Chinese",
        ),
        sa.Column(
            "root_hash",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 over the sorted 'name:sha256' lines of the package files",
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "created_by_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="Staff who bundled it; empty for the job",
        ),
        sa.Column(
            "first_approved_by_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("first_approved_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "second_approved_by_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("second_approved_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "submitted_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("submitted_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "registry_reference",
            sa.String(length=128),
            nullable=True,
            comment="The registry's reference for the submission",
        ),
        sa.Column(
            "decided_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "decided_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="When it was recorded as accepted or rejected",
        ),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'rejected') OR second_approved_by_id IS NOT NULL",
            name=op.f("ck_filing_batches_approved_twice_before_filing"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('submitted', 'accepted') OR registry_reference IS NOT NULL",
            name=op.f("ck_filing_batches_submitted_has_reference"),
        ),
        sa.CheckConstraint(
            "created_by_id IS NULL OR ((first_approved_by_id IS NULL OR first_approved_by_id <> created_by_id) AND (second_approved_by_id IS NULL OR second_approved_by_id <> created_by_id))",
            name=op.f("ck_filing_batches_creator_does_not_approve"),
        ),
        sa.CheckConstraint(
            "first_approved_by_id IS NULL OR second_approved_by_id IS NULL OR first_approved_by_id <> second_approved_by_id",
            name=op.f("ck_filing_batches_two_different_approvers"),
        ),
        sa.CheckConstraint(
            "period_end > period_start", name=op.f("ck_filing_batches_period_not_empty")
        ),
        sa.CheckConstraint(
            "total_g >= 0 AND activities >= 0 AND participants >= 0",
            name=op.f("ck_filing_batches_totals"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_filing_batches_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_filing_batches_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["first_approved_by_id"],
            ["users.id"],
            name=op.f("fk_filing_batches_first_approved_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["methodology_version_id"],
            ["methodology_versions.id"],
            name=op.f("fk_filing_batches_methodology_version_id_methodology_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["second_approved_by_id"],
            ["users.id"],
            name=op.f("fk_filing_batches_second_approved_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["users.id"], name=op.f("fk_filing_batches_submitted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filing_batches")),
        sa.UniqueConstraint("serial", name=op.f("uq_filing_batches_serial")),
        comment="Batches of verified reductions for voluntary-offset filing",
    )

    with op.batch_alter_table("filing_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_filing_batches_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_filing_batches_version_period",
            ["methodology_version_id", "period_start"],
            unique=False,
        )

    op.create_table(
        "offset_claims",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "serial",
            sa.String(length=32),
            nullable=False,
            comment="Certificate number, CN-<yyyy>-<id>",
        ),
        sa.Column(
            "organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event_name", sa.String(length=128), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False, comment="Local date of the event"),
        sa.Column(
            "claimed_g",
            sa.BigInteger(),
            nullable=False,
            comment="Grams CO2e retired for the event (1 t = 1,000,000 g)",
        ),
        sa.Column(
            "claimed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.CheckConstraint("claimed_g > 0", name=op.f("ck_offset_claims_claims_something")),
        sa.ForeignKeyConstraint(
            ["claimed_by_id"], ["users.id"], name=op.f("fk_offset_claims_claimed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_offset_claims_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offset_claims")),
        sa.UniqueConstraint("serial", name=op.f("uq_offset_claims_serial")),
        comment="Carbon-neutral events: tonnes retired from accepted filing batches",
    )

    with op.batch_alter_table("offset_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offset_claims_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "offset_allocations",
        sa.Column("claim_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("retired_g", sa.BigInteger(), nullable=False, comment="Grams CO2e retired"),
        sa.CheckConstraint("retired_g > 0", name=op.f("ck_offset_allocations_retires_something")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["filing_batches.id"],
            name=op.f("fk_offset_allocations_batch_id_filing_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["offset_claims.id"],
            name=op.f("fk_offset_allocations_claim_id_offset_claims"),
        ),
        sa.PrimaryKeyConstraint("claim_id", "batch_id", name=op.f("pk_offset_allocations")),
        comment="Grams retired from each batch for each offset claim",
    )

    with op.batch_alter_table("offset_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offset_allocations_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("offset_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offset_allocations_batch_id"))

    op.drop_table("offset_allocations")

    with op.batch_alter_table("offset_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offset_claims_organisation_id"))

    op.drop_table("offset_claims")

    with op.batch_alter_table("filing_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_filing_batches_version_period")
        batch_op.drop_index(batch_op.f("ix_filing_batches_status"))

    op.drop_table("filing_batches")

    op.drop_table("participant_pseudonyms")

    with op.batch_alter_table("expiry_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expiry_notices_holder_id"))

    op.drop_table("expiry_notices")

    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_job_started")

    op.drop_table("job_runs")

    op.drop_table("job_leases")

    with op.batch_alter_table("filing_lines", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_filing_lines_active_reduction",
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.drop_table("filing_lines")

    op.drop_table("daily_totals")

    op.drop_table("daily_activity_statistics")

    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apscheduler_jobs_next_run_time"))

    op.drop_table("apscheduler_jobs")
