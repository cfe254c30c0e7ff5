"""redemptions by resident: My vouchers lists a resident's redemptions newest first

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 18:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.create_index("ix_redemptions_resident", ["resident_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_index("ix_redemptions_resident")
