"""ledger write path: no index on transactions' references; room on wallet pages for updates

Nothing looks transactions up by their reference: issuances (reduction → transaction),
redemptions (their ledger transaction) and reversals (``reverses_id``) each point at their
transaction, so that index only cost every posting a write. Every posting also rewrites its
wallet's row; with free space on the page PostgreSQL updates it in place (a HOT update) instead
of adding an entry to each of the accounts' indexes.

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

#: Percent of each ledger_accounts page filled by inserts; the rest is for updated rows.
ACCOUNTS_FILLFACTOR = 70


def upgrade() -> None:
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transactions_reference")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE ledger_accounts SET (fillfactor = {ACCOUNTS_FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_accounts RESET (fillfactor)")
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_transactions_reference", ["reference_type", "reference_id"], unique=False
        )
