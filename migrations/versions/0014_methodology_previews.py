"""methodology_previews: a draft replayed on recent activities beside the version in effect

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "methodology_previews",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("version_id", _BIG_ID, nullable=False, comment="The draft previewed"),
        sa.Column(
            "status",
            sa.Enum(
                "queued", "running", "succeeded", "failed", "superseded", name="preview_status",
                native_enum=False, create_constraint=True, length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "parameters", sa.JSON(), nullable=False,
            comment="The draft's parameter values when the preview was requested",
        ),
        sa.Column(
            "window_from", app.db.UTCDateTime(), nullable=False,
            comment="Activities that occurred from this instant are replayed",
        ),
        sa.Column(
            "window_until", app.db.UTCDateTime(), nullable=False,
            comment="… until this instant (exclusive)",
        ),
        sa.Column("requested_by_id", _BIG_ID, nullable=True),
        sa.Column(
            "requested_at", app.db.UTCDateTime(), nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column("started_at", app.db.UTCDateTime(), nullable=True),
        sa.Column(
            "heartbeat_at", app.db.UTCDateTime(), nullable=True,
            comment="Last progress; a running preview silent too long is taken over",
        ),
        sa.Column("finished_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("processed", sa.Integer(), nullable=False, comment="Activities replayed so far"),
        sa.Column("total", sa.Integer(), nullable=False, comment="Activities to replay"),
        sa.Column(
            "result", sa.JSON(), nullable=True,
            comment="Counts, grams and points per side and the largest differences (see preview)",
        ),
        sa.Column(
            "error", sa.JSON(), nullable=True,
            comment="Why it failed: {code, label, errors}; empty unless failed",
        ),
        sa.CheckConstraint(
            "processed >= 0 AND total >= 0",
            name=op.f("ck_methodology_previews_progress_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"],
            name=op.f("fk_methodology_previews_requested_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["methodology_versions.id"],
            name=op.f("fk_methodology_previews_version_id_methodology_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_methodology_previews")),
        comment="Impact previews of draft methodology versions, replayed on recent activities",
    )  # fmt: skip
    with op.batch_alter_table("methodology_previews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_methodology_previews_version_id"), ["version_id"], unique=False
        )
        batch_op.create_index(
            "uq_methodology_previews_one_active", ["version_id"], unique=True,
            sqlite_where=_ACTIVE, postgresql_where=_ACTIVE,
        )  # fmt: skip


def downgrade() -> None:
    op.drop_table("methodology_previews")
