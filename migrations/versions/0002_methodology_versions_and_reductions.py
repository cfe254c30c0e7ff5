"""methodology versions and reductions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:06:16.579994
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "methodology_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False, comment="Plugin code, e.g. bus"),
        sa.Column(
            "version",
            sa.String(length=48),
            nullable=False,
            comment="Label: plugin version, plus -pN for the N-th parameter set",
        ),
        sa.Column(
            "plugin_version",
            sa.String(length=32),
            nullable=False,
            comment="Software version of the plugin that computes, e.g. 1.0.0",
        ),
        sa.Column(
            "revision",
            sa.Integer(),
            nullable=False,
            comment="Number of this parameter set among those registered from plugin_version",
        ),
        sa.Column("activity_kind", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "approved",
                "rejected",
                "retired",
                name="version_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "parameters",
            sa.JSON(),
            nullable=False,
            comment="Parameter values as JSON (decimals as strings); frozen once approved",
        ),
        sa.Column(
            "parameter_notes",
            sa.JSON(),
            nullable=False,
            comment="Per-parameter note on the source of a value that differs from the default",
        ),
        sa.Column(
            "effective_from",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="From this instant the version credits activities",
        ),
        sa.Column(
            "effective_until",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="Set when superseded or retired (exclusive); empty while open-ended",
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
            comment="Who registered it; empty for the system",
        ),
        sa.Column(
            "submitted_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("submitted_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "decided_by_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="The admin who approved or rejected it",
        ),
        sa.Column("decided_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column(
            "retired_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("retired_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status <> 'retired' OR retired_at IS NOT NULL",
            name=op.f("ck_methodology_versions_retired_has_date"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR (submitted_by_id IS NOT NULL AND submitted_at IS NOT NULL)",
            name=op.f("ck_methodology_versions_submitted_has_submitter"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'retired') OR (effective_from IS NOT NULL AND decided_by_id IS NOT NULL)",
            name=op.f("ck_methodology_versions_approved_has_date_and_approver"),
        ),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR submitted_by_id IS NULL OR decided_by_id <> submitted_by_id",
            name=op.f("ck_methodology_versions_four_eyes"),
        ),
        sa.CheckConstraint(
            "effective_until IS NULL OR (effective_from IS NOT NULL AND effective_until >= effective_from)",
            name=op.f("ck_methodology_versions_interval_ordered"),
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_methodology_versions_revision_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_methodology_versions_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_methodology_versions_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["retired_by_id"],
            ["users.id"],
            name=op.f("fk_methodology_versions_retired_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_methodology_versions_submitted_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_methodology_versions")),
        sa.UniqueConstraint(
            "code",
            "plugin_version",
            "revision",
            name=op.f("uq_methodology_versions_code_plugin_version_revision"),
        ),
        sa.UniqueConstraint("code", "version", name=op.f("uq_methodology_versions_code_version")),
        comment="Bureau-managed versions of the methodology plugins",
    )
    with op.batch_alter_table("methodology_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_methodology_versions_activity_kind"), ["activity_kind"], unique=False
        )
        batch_op.create_index(
            "ix_methodology_versions_code_status", ["code", "status"], unique=False
        )
        batch_op.create_index(
            "uq_methodology_versions_one_in_preparation",
            ["code"],
            unique=True,
            sqlite_where=sa.text("status IN ('draft', 'submitted')"),
            postgresql_where=sa.text("status IN ('draft', 'submitted')"),
        )
        batch_op.create_index(
            "uq_methodology_versions_one_open_ended",
            ["code"],
            unique=True,
            sqlite_where=sa.text("status = 'approved' AND effective_until IS NULL"),
            postgresql_where=sa.text("status = 'approved' AND effective_until IS NULL"),
        )

    op.create_table(
        "reductions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "participant_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="The resident or organisation credited",
        ),
        sa.Column(
            "methodology_version_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("activity_kind", sa.String(length=64), nullable=False),
        sa.Column(
            "occurred_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the action happened",
        ),
        sa.Column("self_reported", sa.Boolean(), nullable=False),
        sa.Column(
            "quantities",
            sa.JSON(),
            nullable=False,
            comment="The activity's quantities as the methodology's input schema dumps them",
        ),
        sa.Column(
            "baseline_g", sa.BigInteger(), nullable=False, comment="Baseline emissions, grams CO2e"
        ),
        sa.Column(
            "project_g", sa.BigInteger(), nullable=False, comment="Project emissions, grams CO2e"
        ),
        sa.Column(
            "reduction_g",
            sa.BigInteger(),
            nullable=False,
            comment="Reduction credited, grams CO2e (after the per-activity cap)",
        ),
        sa.Column("capped", sa.Boolean(), nullable=False, comment="The per-activity cap applied"),
        sa.Column(
            "trace",
            sa.JSON(),
            nullable=True,
            comment="The calculation as residents read it: {zh, en}; empty if not explained",
        ),
        sa.Column(
            "findings",
            sa.JSON(),
            nullable=False,
            comment="Plausibility findings: [{code, severity, message: {zh, en}}]; flags need review",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "verified",
                "rejected",
                name="reduction_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column("verified_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "baseline_g >= 0 AND project_g >= 0", name=op.f("ck_reductions_emissions_not_negative")
        ),
        sa.CheckConstraint("reduction_g >= 0", name=op.f("ck_reductions_reduction_not_negative")),
        sa.ForeignKeyConstraint(
            ["methodology_version_id"],
            ["methodology_versions.id"],
            name=op.f("fk_reductions_methodology_version_id_methodology_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["users.id"], name=op.f("fk_reductions_participant_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reductions")),
        comment="Grams CO2e avoided per activity, with the version that computed them",
    )
    with op.batch_alter_table("reductions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reductions_participant_occurred", ["participant_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_reductions_status_version", ["status", "methodology_version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reductions", schema=None) as batch_op:
        batch_op.drop_index("ix_reductions_status_version")
        batch_op.drop_index("ix_reductions_participant_occurred")

    op.drop_table("reductions")
    with op.batch_alter_table("methodology_versions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_methodology_versions_one_open_ended",
            sqlite_where=sa.text("status = 'approved' AND effective_until IS NULL"),
            postgresql_where=sa.text("status = 'approved' AND effective_until IS NULL"),
        )
        batch_op.drop_index(
            "uq_methodology_versions_one_in_preparation",
            sqlite_where=sa.text("status IN ('draft', 'submitted')"),
            postgresql_where=sa.text("status IN ('draft', 'submitted')"),
        )
        batch_op.drop_index("ix_methodology_versions_code_status")
        batch_op.drop_index(batch_op.f("ix_methodology_versions_activity_kind"))

    op.drop_table("methodology_versions")
