"""cashiers at stores, offer edits, voucher key rotation

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "staff_stores",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_staff_stores_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_staff_stores_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "store_id", name=op.f("pk_staff_stores")),
        comment="The stores where a cashier works",
    )
    with op.batch_alter_table("staff_stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_stores_store_id"), ["store_id"], unique=False)

    # Cashiers worked everywhere before: they keep every store their merchant has.
    op.execute(
        "INSERT INTO staff_stores (user_id, store_id) "
        "SELECT users.id, stores.id FROM users JOIN stores ON stores.merchant_id = users.merchant_id "
        "WHERE users.merchant_role = 'cashier'"
    )

    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "store_id",
                _ID,
                nullable=True,
                comment="The store whose counter confirmed it; empty for redemptions before stores counted",
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_redemptions_store_id_stores"), "stores", ["store_id"], ["id"]
        )
        batch_op.add_column(
            sa.Column(
                "offer_title",
                sa.String(length=128),
                nullable=True,
                comment="The offer's title at the time: later edits leave it as it was",
            )
        )
    # Offers could not be edited before: their title now is the title then.
    op.execute(
        "UPDATE redemptions SET offer_title = "
        "(SELECT offers.title FROM offers WHERE offers.id = redemptions.offer_id)"
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.alter_column(
            "offer_title",
            existing_type=sa.String(length=128),
            nullable=False,
            existing_comment="The offer's title at the time: later edits leave it as it was",
        )

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "edited_at",
                app.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="Last change to the terms residents see (not stock); QR codes shown before it are refused",
            )
        )

    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "previous_voucher_key",
                sa.String(length=64),
                nullable=True,
                comment="The key before the last rotation: vouchers issued before it still check with it",
            )
        )
        batch_op.add_column(
            sa.Column(
                "voucher_key_rotated_at",
                app.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="When the voucher key was last rotated; empty if never",
            )
        )


def downgrade() -> None:
    # Plain column drops: copying merchants or offers would break the tables referring to them.
    with op.batch_alter_table("merchants", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("voucher_key_rotated_at")
        batch_op.drop_column("previous_voucher_key")
    with op.batch_alter_table("offers", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("edited_at")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_redemptions_store_id_stores"), type_="foreignkey")
        batch_op.drop_column("offer_title")
        batch_op.drop_column("store_id")
    with op.batch_alter_table("staff_stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_stores_store_id"))
    op.drop_table("staff_stores")
