"""The ledger as a whole: the bureau's totals and the reconciliation that proves invariant 1.

Both read every entry (system accounts keep no stored balance, see models.py); they are for the
console and for a nightly check, not for request hot paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.ledger.models import Account, AccountType, Entry, Issuance, Transaction

accounts = Account.__table__
entries = Entry.__table__
transactions = Transaction.__table__
issuances = Issuance.__table__

#: How many differences of each kind a report lists (it always counts them all).
SHOWN = 50


def _sum(column: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    return sa.cast(sa.func.coalesce(sa.func.sum(column), 0), sa.BigInteger)


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    issued: int  # net of reversed issues
    redeemed: int  # net of reversed redemptions
    expired: int
    adjusted: int  # net points the bureau added (negative: took away)
    in_circulation: int  # the sum of all wallet balances
    capped: int  # points the caps held back (never issued)
    wallets: int


def totals(session: Session) -> LedgerTotals:
    by_type = dict(
        session.execute(
            sa.select(accounts.c.type, _sum(entries.c.amount))
            .join(accounts, accounts.c.id == entries.c.account_id)
            .where(accounts.c.type != AccountType.WALLET)
            .group_by(accounts.c.type)
        ).all()
    )
    wallets, in_circulation = session.execute(
        sa.select(sa.func.count(), _sum(accounts.c.balance)).where(
            accounts.c.type == AccountType.WALLET
        )
    ).one()
    capped = session.scalar(sa.select(_sum(issuances.c.capped_points)))
    return LedgerTotals(
        issued=-by_type.get(AccountType.ISSUANCE, 0),
        redeemed=by_type.get(AccountType.MERCHANT, 0),
        expired=by_type.get(AccountType.EXPIRY, 0),
        adjusted=-by_type.get(AccountType.ADJUSTMENT, 0),
        in_circulation=in_circulation,
        capped=capped or 0,
        wallets=wallets,
    )


@dataclass(frozen=True, slots=True)
class WalletDifference:
    wallet_id: int
    holder_id: int
    stored: int
    entries: int


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    wallets: int
    transactions: int
    ledger_sum: int  # must be 0
    wallet_differences: list[WalletDifference] = field(default_factory=list)
    wallet_difference_count: int = 0
    unbalanced: list[tuple[int, int]] = field(default_factory=list)  # (transaction, its sum)
    unbalanced_count: int = 0
    without_entries: int = 0  # transactions with no entries at all
    negative_wallets: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.ledger_sum == 0
            and self.wallet_difference_count == 0
            and self.unbalanced_count == 0
            and self.without_entries == 0
            and self.negative_wallets == 0
        )


def reconcile(session: Session) -> ReconcileReport:
    """Check every wallet (stored balance = sum of its entries, never negative), every
    transaction (entries sum to zero, at least one entry) and the whole ledger (sum = 0)."""
    sums = (
        sa.select(entries.c.account_id, _sum(entries.c.amount).label("total"))
        .group_by(entries.c.account_id)
        .subquery()
    )
    total = sa.func.coalesce(sums.c.total, 0)
    differing = (
        sa.select(accounts.c.id, accounts.c.holder_id, accounts.c.balance, total)
        .outerjoin(sums, sums.c.account_id == accounts.c.id)
        .where(accounts.c.type == AccountType.WALLET, accounts.c.balance != total)
        .order_by(accounts.c.id)
    )
    wallet_differences = [
        WalletDifference(*row) for row in session.execute(differing.limit(SHOWN)).all()
    ]
    per_transaction = (
        sa.select(entries.c.transaction_id, _sum(entries.c.amount).label("total"))
        .group_by(entries.c.transaction_id)
        .having(sa.func.sum(entries.c.amount) != 0)
    )
    unbalanced = [
        (transaction_id, int(total))
        for transaction_id, total in session.execute(
            per_transaction.order_by(entries.c.transaction_id).limit(SHOWN)
        ).all()
    ]

    def count(stmt: sa.Select[tuple[int]]) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0

    return ReconcileReport(
        wallets=count(sa.select(accounts.c.id).where(accounts.c.type == AccountType.WALLET)),
        transactions=count(sa.select(transactions.c.id)),
        ledger_sum=session.scalar(sa.select(_sum(entries.c.amount))) or 0,
        wallet_differences=wallet_differences,
        wallet_difference_count=count(differing) if wallet_differences else 0,
        unbalanced=unbalanced,
        unbalanced_count=count(per_transaction) if unbalanced else 0,
        without_entries=count(
            sa.select(transactions.c.id).where(
                ~sa.exists().where(entries.c.transaction_id == transactions.c.id)
            )
        ),
        negative_wallets=count(
            sa.select(accounts.c.id).where(
                accounts.c.type == AccountType.WALLET, accounts.c.balance < 0
            )
        ),
    )
