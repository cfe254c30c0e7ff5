"""points ledger: accounts, transactions, entries and issuances

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:13:51.568644
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Entries and transactions are never changed: a correction is a reversing transaction.
IMMUTABLE_TABLES = ("ledger_transactions", "ledger_entries", "ledger_issuances")


def upgrade() -> None:
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "issue",
                "redeem",
                "reverse",
                "expire",
                "adjust",
                name="transaction_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "idempotency_key",
            sa.String(length=100),
            nullable=False,
            comment="Caller's key: a retry returns the first transaction",
        ),
        sa.Column(
            "fingerprint",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of kind, accounts, amounts and reference",
        ),
        sa.Column(
            "reference_type",
            sa.String(length=32),
            nullable=True,
            comment="What caused it: reduction, redemption, adjustment, expiry",
        ),
        sa.Column("reference_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "reverses_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="The transaction this one reverses",
        ),
        sa.Column(
            "memo",
            sa.String(length=255),
            nullable=False,
            comment="For people: the offer redeemed, an adjustment's reason, an expiry's last day",
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.CheckConstraint(
            "(kind = 'reverse') = (reverses_id IS NOT NULL)",
            name=op.f("ck_ledger_transactions_reversal_link"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_transactions_reverses_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transactions_idempotency_key")),
        comment="Ledger transactions; their entries sum to zero; never changed",
    )
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_transactions_created_at",
            ["created_at"],
            unique=False,
            postgresql_using="brin",
        )
        batch_op.create_index(
            "ix_ledger_transactions_reference", ["reference_type", "reference_id"], unique=False
        )
        batch_op.create_index(
            "uq_ledger_transactions_reverses_id",
            ["reverses_id"],
            unique=True,
            postgresql_where=sa.text("reverses_id IS NOT NULL"),
            sqlite_where=sa.text("reverses_id IS NOT NULL"),
        )

    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "wallet",
                "issuance",
                "merchant",
                "expiry",
                "adjustment",
                name="account_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "holder_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="The wallet's resident/organisation",
        ),
        sa.Column(
            "merchant_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="The clearing account's merchant",
        ),
        sa.Column(
            "balance",
            sa.BigInteger(),
            nullable=True,
            comment="Points, wallets only: always the sum of the wallet's entries, never negative",
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.CheckConstraint(
            "(type = 'merchant') = (merchant_id IS NOT NULL)",
            name=op.f("ck_ledger_accounts_merchant_account_has_merchant"),
        ),
        sa.CheckConstraint(
            "(type = 'wallet') = (balance IS NOT NULL)",
            name=op.f("ck_ledger_accounts_only_wallets_store_a_balance"),
        ),
        sa.CheckConstraint(
            "(type = 'wallet') = (holder_id IS NOT NULL)",
            name=op.f("ck_ledger_accounts_wallet_has_holder"),
        ),
        sa.CheckConstraint(
            "type <> 'wallet' OR balance >= 0", name=op.f("ck_ledger_accounts_wallet_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["users.id"], name=op.f("fk_ledger_accounts_holder_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_ledger_accounts_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("holder_id", name=op.f("uq_ledger_accounts_holder_id")),
        sa.UniqueConstraint("merchant_id", name=op.f("uq_ledger_accounts_merchant_id")),
        comment="Ledger accounts: wallets and the system accounts",
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_ledger_accounts_system_type",
            ["type"],
            unique=True,
            postgresql_where=sa.text("holder_id IS NULL AND merchant_id IS NULL"),
            sqlite_where=sa.text("holder_id IS NULL AND merchant_id IS NULL"),
        )

    op.create_table(
        "ledger_entries",
        sa.Column(
            "transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "amount",
            sa.BigInteger(),
            nullable=False,
            comment="Points: positive credits the account, negative debits it",
        ),
        sa.Column(
            "expires_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="Wallet credits only: when these points expire (UTC); a reversal of a credit repeats it with the opposite amount",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", "account_id", name=op.f("pk_ledger_entries")),
        comment="Ledger entries: signed points per account and transaction; never changed",
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_account_expiry",
            ["account_id", "expires_at"],
            unique=False,
            postgresql_where=sa.text("expires_at IS NOT NULL"),
            sqlite_where=sa.text("expires_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_ledger_entries_account_transaction", ["account_id", "transaction_id"], unique=False
        )

    op.create_table(
        "ledger_issuances",
        sa.Column(
            "reduction_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("methodology_code", sa.String(length=64), nullable=False, comment="e.g. bus"),
        sa.Column(
            "activity_date",
            sa.Date(),
            nullable=False,
            comment="The activity's date in the city's time zone; caps count by it",
        ),
        sa.Column(
            "requested_points",
            sa.BigInteger(),
            nullable=False,
            comment="Points the reduction earns at the city's rate, before caps",
        ),
        sa.Column("issued_points", sa.BigInteger(), nullable=False, comment="Points credited"),
        sa.Column(
            "capped_points",
            sa.BigInteger(),
            nullable=False,
            comment="Points not issued because a cap was reached",
        ),
        sa.Column(
            "cap",
            sa.Enum(
                "daily",
                "monthly",
                "methodology_daily",
                "methodology_monthly",
                name="issuance_cap",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "(capped_points = 0) = (cap IS NULL)",
            name=op.f("ck_ledger_issuances_cap_named_when_capped"),
        ),
        sa.CheckConstraint(
            "issued_points >= 0 AND capped_points >= 0 AND requested_points = issued_points + capped_points",
            name=op.f("ck_ledger_issuances_points_add_up"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["users.id"], name=op.f("fk_ledger_issuances_participant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reduction_id"],
            ["reductions.id"],
            name=op.f("fk_ledger_issuances_reduction_id_reductions"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_issuances_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("reduction_id", name=op.f("pk_ledger_issuances")),
        comment="Points issued per verified reduction, with what the caps held back",
    )
    with op.batch_alter_table("ledger_issuances", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_issuances_participant_date",
            ["participant_id", "activity_date"],
            unique=False,
        )

    accounts = sa.table(
        "ledger_accounts",
        sa.column("type", sa.String),
        sa.column("created_at", app.db.UTCDateTime(timezone=True)),
    )
    created = datetime.now(UTC)
    op.bulk_insert(
        accounts,
        [{"type": kind, "created_at": created} for kind in ("issuance", "expiry", "adjustment")],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only: post a reversal', TG_TABLE_NAME; END $$"
        )
        for table in IMMUTABLE_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only()"
            )
    else:
        for table in IMMUTABLE_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: post a reversal'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE_TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION ledger_is_append_only()")
    for table in ("ledger_issuances", "ledger_entries", "ledger_accounts", "ledger_transactions"):
        op.drop_table(table)
