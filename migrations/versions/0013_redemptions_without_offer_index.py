"""redemptions: no index on the offer alone, so the limits are always counted by their own index

The limits of a confirmation count one resident's redemptions of one offer since the start of the
month. The index on ``offer_id`` alone won over the limits' index (resident, offer, time) whenever
the planner chose a generic plan, and the count then read every redemption of the offer: work
that grew with the offer's success. Nothing else reads redemptions by the offer alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 17:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_index("ix_redemptions_offer_id")


def downgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.create_index("ix_redemptions_offer_id", ["offer_id"], unique=False)
