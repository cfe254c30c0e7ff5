"""reductions.verified_at indexed: the statistics job asks what was verified since it last ran

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 17:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reductions") as batch:
        batch.create_index(
            "ix_reductions_verified_at", ["verified_at"], unique=False, postgresql_using="brin"
        )


def downgrade() -> None:
    with op.batch_alter_table("reductions") as batch:
        batch.drop_index("ix_reductions_verified_at", postgresql_using="brin")
