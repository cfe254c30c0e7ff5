"""retention indexes: the purges of unused QR tokens and old partner message ids

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 11:57:10.305331
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNUSED = sa.text("burned_by_id IS NULL AND replays = 0")


def upgrade() -> None:
    with op.batch_alter_table("partner_messages", schema=None) as batch_op:
        batch_op.create_index("ix_partner_messages_created_at", ["created_at"], unique=False)

    with op.batch_alter_table("redemption_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_redemption_tokens_unused_expiry",
            ["expires_at"],
            unique=False,
            sqlite_where=_UNUSED,
            postgresql_where=_UNUSED,
        )


def downgrade() -> None:
    with op.batch_alter_table("redemption_tokens", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_redemption_tokens_unused_expiry", sqlite_where=_UNUSED, postgresql_where=_UNUSED
        )

    with op.batch_alter_table("partner_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_messages_created_at")
