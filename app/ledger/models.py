"""The points ledger: accounts, transactions of entries that sum to zero, and issuances.

Double entry in integer points. A wallet (one per resident or organisation) keeps its balance on
its row, changed in the same database transaction as its entries and never below zero. System
accounts (issuance, each merchant's redemption clearing, expiry, manual adjustment) keep no stored
balance: their totals are the sums of their entries, so a busy merchant's redemptions never queue
behind one hot row. Entries and transactions are never changed or deleted (the migration adds
triggers that refuse it); a correction is a reversing transaction.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum


class AccountType(enum.StrEnum):
    WALLET = "wallet"  # a resident's or organisation's points
    ISSUANCE = "issuance"  # the source of every issued point: goes negative as points are issued
    MERCHANT = "merchant"  # one per merchant: the points its redemptions took in
    EXPIRY = "expiry"  # where expired points go
    ADJUSTMENT = "adjustment"  # the other side of the bureau's manual adjustments


class TransactionKind(enum.StrEnum):
    ISSUE = "issue"
    REDEEM = "redeem"
    REVERSE = "reverse"
    EXPIRE = "expire"
    ADJUST = "adjust"


class BudgetAction(enum.StrEnum):
    """What the city's monthly points budget did to the part of a credit it could not cover."""

    DEFERRED = "deferred"  # issued later, from the following months' budgets
    SCALED = "scaled"  # not issued: the month's last credits were scaled down pro rata


class Cap(enum.StrEnum):
    """The cap that held back part of an issuance (the tightest, when several did)."""

    DAILY = "daily"
    MONTHLY = "monthly"
    METHODOLOGY_DAILY = "methodology_daily"
    METHODOLOGY_MONTHLY = "methodology_monthly"


class Account(Base):
    """A ledger account: a wallet, or one of the system accounts points come from and go to."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        sa.CheckConstraint("type <> 'wallet' OR balance >= 0", name="wallet_not_negative"),
        sa.CheckConstraint(
            "(type = 'wallet') = (balance IS NOT NULL)", name="only_wallets_store_a_balance"
        ),
        sa.CheckConstraint("(type = 'wallet') = (holder_id IS NOT NULL)", name="wallet_has_holder"),
        sa.CheckConstraint(
            "(type = 'merchant') = (merchant_id IS NOT NULL)", name="merchant_account_has_merchant"
        ),
        sa.Index(
            "uq_ledger_accounts_system_type",
            "type",
            unique=True,
            postgresql_where=sa.text("holder_id IS NULL AND merchant_id IS NULL"),
            sqlite_where=sa.text("holder_id IS NULL AND merchant_id IS NULL"),
        ),
        {
            "comment": "Ledger accounts: wallets and the system accounts",
            # Room on each page for the balance updates of every posting (migration 0009).
            "postgresql_with": {"fillfactor": 70},
        },
    )

    id: Mapped[intpk]
    type: Mapped[AccountType] = mapped_column(str_enum(AccountType, "account_type"))
    holder_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), unique=True, comment="The wallet's resident/organisation"
    )
    merchant_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("merchants.id"), unique=True, comment="The clearing account's merchant"
    )
    balance: Mapped[int | None] = mapped_column(
        sa.BigInteger,
        comment="Points, wallets only: always the sum of the wallet's entries, never negative",
    )
    created_at: Mapped[created_at]


class Transaction(Base):
    """One posting: entries that sum to zero, a kind, what caused it, and an idempotency key.

    The same key with the same content (``fingerprint``) returns the first transaction; the same
    key with different content is refused.
    """

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        sa.CheckConstraint("(kind = 'reverse') = (reverses_id IS NOT NULL)", name="reversal_link"),
        sa.Index(
            "uq_ledger_transactions_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=sa.text("reverses_id IS NOT NULL"),
            sqlite_where=sa.text("reverses_id IS NOT NULL"),
        ),
        # Time-range reports (daily totals). Rows arrive in time order, so on PostgreSQL a BRIN
        # index of a few pages serves them and costs the inserts next to nothing.
        sa.Index("ix_ledger_transactions_created_at", "created_at", postgresql_using="brin"),
        {"comment": "Ledger transactions; their entries sum to zero; never changed"},
    )

    id: Mapped[intpk]
    kind: Mapped[TransactionKind] = mapped_column(str_enum(TransactionKind, "transaction_kind"))
    idempotency_key: Mapped[str] = mapped_column(
        sa.String(100), unique=True, comment="Caller's key: a retry returns the first transaction"
    )
    fingerprint: Mapped[str] = mapped_column(
        sa.String(64), comment="SHA-256 of kind, accounts, amounts and reference"
    )
    reference_type: Mapped[str | None] = mapped_column(
        sa.String(32), comment="What caused it: reduction, redemption, adjustment, expiry"
    )
    reference_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    reverses_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("ledger_transactions.id"), comment="The transaction this one reverses"
    )
    memo: Mapped[str] = mapped_column(
        sa.String(255),
        default="",
        comment="For people: the offer redeemed, an adjustment's reason, an expiry's last day",
    )
    created_at: Mapped[created_at]


class Entry(Base):
    """One account's share of a transaction. Each account appears at most once per transaction."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.Index("ix_ledger_entries_account_transaction", "account_id", "transaction_id"),
        sa.Index(
            "ix_ledger_entries_account_expiry",
            "account_id",
            "expires_at",
            postgresql_where=sa.text("expires_at IS NOT NULL"),
            sqlite_where=sa.text("expires_at IS NOT NULL"),
        ),
        {"comment": "Ledger entries: signed points per account and transaction; never changed"},
    )

    transaction_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("ledger_transactions.id"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("ledger_accounts.id"), primary_key=True
    )
    amount: Mapped[int] = mapped_column(
        sa.BigInteger, comment="Points: positive credits the account, negative debits it"
    )
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime,
        comment="Wallet credits only: when these points expire (UTC); a reversal of a credit "
        "repeats it with the opposite amount",
    )


class Issuance(Base):
    """How one verified reduction became points: requested, issued, and the part a cap held back.

    A reduction is issued at most once (the primary key). A reduction capped to nothing still has
    its issue transaction (of zero points), so the resident sees it in the wallet's history.
    """

    __tablename__ = "ledger_issuances"
    __table_args__ = (
        sa.CheckConstraint(
            "issued_points >= 0 AND capped_points >= 0 AND budget_points >= 0 "
            "AND requested_points = issued_points + capped_points + budget_points",
            name="points_add_up",
        ),
        sa.CheckConstraint("(capped_points = 0) = (cap IS NULL)", name="cap_named_when_capped"),
        sa.CheckConstraint(
            "(budget_points = 0) = (budget_action IS NULL)", name="budget_action_named"
        ),
        # The deferrals still waiting for a month's budget, found without reading every issuance.
        sa.Index(
            "ix_ledger_issuances_deferred",
            "transaction_id",
            postgresql_where=sa.text("budget_action = 'deferred'"),
            sqlite_where=sa.text("budget_action = 'deferred'"),
        ),
        sa.Index("ix_ledger_issuances_participant_date", "participant_id", "activity_date"),
        {"comment": "Points issued per verified reduction, with what the caps held back"},
    )

    reduction_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("reductions.id"), primary_key=True, autoincrement=False
    )
    transaction_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("ledger_transactions.id"))
    participant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    methodology_code: Mapped[str] = mapped_column(sa.String(64), comment="e.g. bus")
    activity_date: Mapped[date] = mapped_column(
        sa.Date, comment="The activity's date in the city's time zone; caps count by it"
    )
    requested_points: Mapped[int] = mapped_column(
        sa.BigInteger, comment="Points the reduction earns at the city's rate, before caps"
    )
    issued_points: Mapped[int] = mapped_column(sa.BigInteger, comment="Points credited")
    capped_points: Mapped[int] = mapped_column(
        sa.BigInteger, comment="Points not issued because a cap was reached"
    )
    cap: Mapped[Cap | None] = mapped_column(str_enum(Cap, "issuance_cap"))
    budget_points: Mapped[int] = mapped_column(
        sa.BigInteger,
        server_default="0",
        comment="Points the city's monthly budget could not cover: deferred or scaled away",
    )
    budget_action: Mapped[BudgetAction | None] = mapped_column(
        str_enum(BudgetAction, "issuance_budget_action")
    )


class BudgetMonth(Base):
    """The points budget of one calendar month (local) and what was charged to it.

    Every point issued in the month, new or released from an earlier month's deferral, is charged
    here and never beyond the budget. Points a month could not cover under the "defer" policy are
    counted in ``deferred_points`` until they leave it (``passed_on_points``): released by a later
    month's run, or carried on to the next month when that one could not cover them either.
    """

    __tablename__ = "ledger_budget_months"
    __table_args__ = (
        sa.CheckConstraint(
            "issued_points >= 0 AND issued_points <= budget_points", name="within_budget"
        ),
        sa.CheckConstraint(
            "deferred_points >= 0 AND passed_on_points >= 0 AND passed_on_points <= "
            "deferred_points AND scaled_points >= 0",
            name="held_back_adds_up",
        ),
        {"comment": "Monthly points budgets and the points charged to each"},
    )

    month: Mapped[date] = mapped_column(
        sa.Date, primary_key=True, comment="First day of the calendar month (city time)"
    )
    budget_points: Mapped[int] = mapped_column(sa.BigInteger, comment="Most points issued")
    issued_points: Mapped[int] = mapped_column(
        sa.BigInteger, default=0, comment="Points charged: issued, or released from deferrals"
    )
    deferred_points: Mapped[int] = mapped_column(
        sa.BigInteger, default=0, comment="Points this month could not cover, to issue later"
    )
    passed_on_points: Mapped[int] = mapped_column(
        sa.BigInteger,
        default=0,
        comment="Of the deferred points: released or carried on to the next month",
    )
    scaled_points: Mapped[int] = mapped_column(
        sa.BigInteger, default=0, comment="Points not issued: credits scaled down pro rata"
    )
    warned_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the charged points first reached the warning threshold"
    )
    reached_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a credit was first deferred or scaled down"
    )
    set_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="Who set the budget last"
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BudgetRelease(Base):
    """Deferred points of a reduction issued from a later month's budget (its own transaction)."""

    __tablename__ = "ledger_budget_releases"
    __table_args__ = (
        sa.CheckConstraint("points > 0", name="points_positive"),
        {"comment": "Deferred points issued from a later month's budget; never changed"},
    )

    reduction_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("reductions.id"), primary_key=True, autoincrement=False
    )
    month: Mapped[date] = mapped_column(
        sa.Date, primary_key=True, comment="The month whose budget they were charged to"
    )
    transaction_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("ledger_transactions.id"), unique=True
    )
    points: Mapped[int] = mapped_column(sa.BigInteger, comment="Points issued")


def change_balance(
    wallet: sa.ColumnElement[int] | int, delta: sa.ColumnElement[int] | int
) -> sa.Update:
    """The rule every change of a wallet's stored balance follows, written once: add ``delta``
    to the balance of account ``wallet`` unless it would go below zero (then nothing changes;
    the CHECK constraint would refuse it as an error rather than a refusal). Debits, reversals,
    adjustments, issuance and expiry all build on it."""
    accounts = Account.__table__
    return (
        accounts.update()
        .where(accounts.c.id == wallet, accounts.c.balance + delta >= 0)
        .values(balance=accounts.c.balance + delta)
    )
