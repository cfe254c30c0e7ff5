"""Reductions by the time they occurred, for the statistics job's span of dates

The job runs every minute while partners report and groups the span of dates it recomputes
(usually yesterday and today) in a few statements; without this index each of them read every
reduction ever made.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 02:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reductions_occurred_at", "reductions", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_reductions_occurred_at", table_name="reductions")
