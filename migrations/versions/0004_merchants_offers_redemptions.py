"""merchants offers redemptions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:30:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE_COMMENT = "Alliance merchants: applications, approvals and suspensions"


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contact_name", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "contact_mobile",
                sa.String(length=11),
                nullable=False,
                server_default="",
                comment="Mainland mobile number of the contact person",
            )
        )
        batch_op.add_column(
            sa.Column(
                "credit_code",
                sa.String(length=18),
                nullable=True,
                comment="Unified social credit code (统一社会信用代码)",
            )
        )
        batch_op.add_column(
            sa.Column(
                "voucher_key",
                sa.String(length=64),
                nullable=True,
                comment="Hex key shared with the merchant so its gates can check voucher codes offline",
            )
        )
        batch_op.add_column(
            sa.Column(
                "decided_at",
                app.db.UTCDateTime(timezone=True),
                nullable=True,
                comment="Last approval, rejection, suspension or reinstatement",
            )
        )
        batch_op.add_column(
            sa.Column(
                "decided_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "decision_note",
                sa.String(length=500),
                nullable=False,
                server_default="",
                comment="Why it was rejected or suspended, shown to the merchant",
            )
        )
    # Merchants made before this revision (the demo's) get a voucher key of their own.
    merchants = sa.table(
        "merchants", sa.column("id", sa.BigInteger()), sa.column("voucher_key", sa.String())
    )
    connection = op.get_bind()
    for (merchant_id,) in connection.execute(sa.select(merchants.c.id)).all():
        connection.execute(
            merchants.update()
            .where(merchants.c.id == merchant_id)
            .values(voucher_key=secrets.token_hex(32))
        )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.alter_column(
            "voucher_key",
            existing_type=sa.String(length=64),
            nullable=False,
            existing_comment="Hex key shared with the merchant so its gates can check voucher codes offline",
        )
        for name in ("contact_name", "contact_mobile", "decision_note"):
            batch_op.alter_column(name, existing_type=sa.String(), server_default=None)
        batch_op.create_index(batch_op.f("ix_merchants_status"), ["status"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_merchants_credit_code"), ["credit_code"])
        batch_op.create_foreign_key(
            batch_op.f("fk_merchants_decided_by_id_users"), "users", ["decided_by_id"], ["id"]
        )
    if connection.dialect.supports_comments:
        op.create_table_comment("merchants", _TABLE_COMMENT)

    op.create_table(
        "stores",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_stores_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        comment="A merchant's stores with their addresses",
    )

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stores_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "offers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "reward_type",
            sa.String(length=40),
            nullable=False,
            comment="Code of the reward type plugin, e.g. parking_discount",
        ),
        sa.Column(
            "config",
            sa.JSON(),
            nullable=False,
            comment="The reward type's configuration, as its schema loaded it",
        ),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column(
            "terms", sa.String(length=500), nullable=False, comment="Fine print for residents"
        ),
        sa.Column(
            "points_price",
            sa.Integer(),
            nullable=False,
            comment="Points a resident pays per redemption",
        ),
        sa.Column(
            "stock",
            sa.Integer(),
            nullable=True,
            comment="Items left to redeem; empty means unlimited",
        ),
        sa.Column(
            "daily_limit",
            sa.Integer(),
            nullable=True,
            comment="Redemptions per resident per city-local day; empty means no limit",
        ),
        sa.Column(
            "monthly_limit",
            sa.Integer(),
            nullable=True,
            comment="Redemptions per resident per city-local month; empty means no limit",
        ),
        sa.Column("valid_from", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "valid_until",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="Exclusive end (UTC)",
        ),
        sa.Column(
            "public_service",
            sa.Boolean(),
            nullable=False,
            comment="The reward type is a public service: the bureau approves the offer",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "rejected",
                "withdrawn",
                name="offer_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("decided_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "decided_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("decision_note", sa.String(length=500), nullable=False),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.CheckConstraint(
            "daily_limit IS NULL OR daily_limit > 0", name=op.f("ck_offers_daily_limit_positive")
        ),
        sa.CheckConstraint(
            "monthly_limit IS NULL OR monthly_limit > 0",
            name=op.f("ck_offers_monthly_limit_positive"),
        ),
        sa.CheckConstraint("points_price > 0", name=op.f("ck_offers_price_positive")),
        sa.CheckConstraint(
            "stock IS NULL OR stock >= 0", name=op.f("ck_offers_stock_not_negative")
        ),
        sa.CheckConstraint("valid_until > valid_from", name=op.f("ck_offers_window_not_empty")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_offers_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_offers_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_offers_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        comment="Merchants' offers: price in points, stock, limits, validity window",
    )

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(
            "ix_offers_status_reward_type", ["status", "reward_type"], unique=False
        )

    op.create_table(
        "offer_stores",
        sa.Column("offer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_offer_stores_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_offer_stores_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("offer_id", "store_id", name=op.f("pk_offer_stores")),
        comment="The stores where an offer may be redeemed",
    )

    with op.batch_alter_table("offer_stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_stores_store_id"), ["store_id"], unique=False)

    op.create_table(
        "redemption_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "resident_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="The wallet holder the token is bound to",
        ),
        sa.Column("offer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "code",
            sa.String(length=8),
            nullable=False,
            comment="8-digit code for manual entry; unique among unburned tokens",
        ),
        sa.Column("issued_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "expires_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="Refused from this instant",
        ),
        sa.Column(
            "burned_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="When a merchant used it, successfully or not; empty while live",
        ),
        sa.Column(
            "burned_by_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="The merchant staff who scanned it",
        ),
        sa.Column(
            "outcome",
            sa.String(length=32),
            nullable=True,
            comment="'redeemed', or the reason the redemption was refused",
        ),
        sa.Column(
            "replays",
            sa.Integer(),
            nullable=False,
            comment="Attempts to use the token after it was burned (all refused)",
        ),
        sa.Column("last_replay_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "expires_at > issued_at", name=op.f("ck_redemption_tokens_expires_after_issue")
        ),
        sa.CheckConstraint("replays >= 0", name=op.f("ck_redemption_tokens_replays_not_negative")),
        sa.ForeignKeyConstraint(
            ["burned_by_id"], ["users.id"], name=op.f("fk_redemption_tokens_burned_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_redemption_tokens_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["users.id"], name=op.f("fk_redemption_tokens_resident_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_tokens")),
        comment="Single-use QR tokens authorising one redemption",
    )

    with op.batch_alter_table("redemption_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_redemption_tokens_code", ["code"], unique=False)
        batch_op.create_index(
            "ix_redemption_tokens_holder_offer", ["resident_id", "offer_id", "id"], unique=False
        )
        batch_op.create_index(
            "uq_redemption_tokens_live_code",
            ["code"],
            unique=True,
            sqlite_where=sa.text("burned_at IS NULL"),
            postgresql_where=sa.text("burned_at IS NULL"),
        )

    op.create_table(
        "redemptions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "resident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("offer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "points",
            sa.Integer(),
            nullable=False,
            comment="Points debited (the offer's price at the time)",
        ),
        sa.Column("reward_type", sa.String(length=40), nullable=False),
        sa.Column(
            "fulfilment",
            sa.JSON(),
            nullable=False,
            comment="The reward type's fulfilment: voucher code, instructions, payload",
        ),
        sa.Column(
            "ledger_transaction_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="The ledger transaction that debited the points",
        ),
        sa.Column(
            "confirmed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("confirmed_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "completed",
                "reversed",
                name="redemption_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reversed_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "reversed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "reversal_transaction_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="The ledger transaction that gave the points back",
        ),
        sa.Column("reversal_reason", sa.String(length=255), nullable=False),
        sa.CheckConstraint(
            "(status = 'reversed') = (reversed_at IS NOT NULL)",
            name=op.f("ck_redemptions_reversed_has_date"),
        ),
        sa.CheckConstraint("points > 0", name=op.f("ck_redemptions_points_positive")),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"], ["users.id"], name=op.f("fk_redemptions_confirmed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["redemption_tokens.id"], name=op.f("fk_redemptions_id_redemption_tokens")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_redemptions_ledger_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_redemptions_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_redemptions_offer_id_offers")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["users.id"], name=op.f("fk_redemptions_resident_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reversal_transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_redemptions_reversal_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["reversed_by_id"], ["users.id"], name=op.f("fk_redemptions_reversed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        comment="Confirmed redemptions of offers, with their fulfilment",
    )

    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_redemptions_limits", ["resident_id", "offer_id", "confirmed_at"], unique=False
        )
        batch_op.create_index(
            "ix_redemptions_merchant_confirmed", ["merchant_id", "confirmed_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_redemptions_offer_id"), ["offer_id"], unique=False)


def downgrade() -> None:
    op.drop_table("redemptions")
    op.drop_table("redemption_tokens")
    op.drop_table("offer_stores")
    op.drop_table("offers")
    op.drop_table("stores")
    if op.get_bind().dialect.supports_comments:
        op.drop_table_comment("merchants", existing_comment=_TABLE_COMMENT)
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_merchants_decided_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_merchants_credit_code"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_merchants_status"))
        for name in (
            "decision_note",
            "decided_by_id",
            "decided_at",
            "voucher_key",
            "credit_code",
            "contact_mobile",
            "contact_name",
        ):
            batch_op.drop_column(name)
