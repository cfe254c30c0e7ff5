"""bank_clients.merchant_id: a bank client tied to the bank's financial merchant

The merchant's webhook endpoints are told when a holder revokes a grant to the bank.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 21:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("bank_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "merchant_id",
                _ID,
                nullable=True,
                comment="The bank's financial merchant, told of revoked grants by webhook; "
                "empty: no merchant",
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_bank_clients_merchant_id_merchants"),
            "merchants",
            ["merchant_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("bank_clients", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_bank_clients_merchant_id_merchants"), type_="foreignkey"
        )
        batch_op.drop_column("merchant_id")
