"""offers.title_en: an offer's title in English beside the Chinese one

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 20:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.add_column(
            sa.Column(
                "title_en",
                sa.String(128),
                nullable=False,
                server_default="",
                comment="The title in English; empty: the Chinese title is shown",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("title_en")
