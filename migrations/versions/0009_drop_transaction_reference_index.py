"""drop the index on ledger transactions' references: nothing looks transactions up by them

Issuances (reduction → transaction), redemptions (their ledger transaction) and reversals
(``reverses_id``) each point at their transaction, so the index only cost every posting a write.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 12:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transactions_reference")


def downgrade() -> None:
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_transactions_reference", ["reference_type", "reference_id"], unique=False
        )
