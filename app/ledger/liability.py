"""The programme's liability as the bureau plans its budget: points outstanding, when they are
expected to expire, what deferrals still owe, and each month's budget and charges.

Reports for the console: they read every wallet's unexpired lots (summed by the database), not
for request hot paths.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.ledger.budget import month_of, next_month
from app.ledger.models import Account, AccountType, BudgetMonth, Entry
from app.ledger.policy import LedgerPolicy, valid_until

accounts = Account.__table__
entries = Entry.__table__
months = BudgetMonth.__table__

_FEN = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Liability:
    outstanding_points: int  # in every wallet
    #: Points of the outstanding that expire at the next expiry run (their lots have passed).
    overdue_points: int
    #: (month, points) in the month their last valid day falls in, soonest first.
    expiring: list[tuple[date, int]]
    #: Points deferred by a month's budget and not issued yet.
    owed_points: int

    def value_yuan(self, yuan_per_point: Decimal) -> Decimal:
        """What the outstanding points are worth at the settlement rate, to the fen."""
        return (self.outstanding_points * yuan_per_point).quantize(_FEN, rounding=ROUND_HALF_UP)


def _clamp(value: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    return sa.case((value > 0, value), else_=0)


def liability(session: Session, *, now: datetime, policy: LedgerPolicy) -> Liability:
    """Outstanding points and the months they are expected to expire in.

    Spending takes the lots that expire soonest first (see :mod:`app.ledger.expiry`), so of a
    wallet's lot expiring at T the part still held is ``max(0, balance − later) − max(0,
    balance − later − lot)``, ``later`` being its credits expiring after T.
    """
    outstanding = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(accounts.c.balance), 0)).where(
            accounts.c.type == AccountType.WALLET
        )
    )
    lots = (
        sa.select(
            entries.c.account_id,
            entries.c.expires_at,
            sa.func.sum(entries.c.amount).label("points"),
        )
        .join(accounts, accounts.c.id == entries.c.account_id)
        .where(
            accounts.c.type == AccountType.WALLET,
            accounts.c.balance > 0,
            entries.c.expires_at > now,
        )
        .group_by(entries.c.account_id, entries.c.expires_at)
        .subquery()
    )
    later = sa.func.coalesce(
        sa.func.sum(lots.c.points).over(
            partition_by=lots.c.account_id, order_by=lots.c.expires_at.desc(), rows=(None, -1)
        ),
        0,
    )
    held = (
        sa.select(
            lots.c.expires_at,
            (
                _clamp(accounts.c.balance - later)
                - _clamp(accounts.c.balance - later - lots.c.points)
            ).label("points"),
        )
        .join(accounts, accounts.c.id == lots.c.account_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(held.c.expires_at, sa.func.sum(held.c.points))
        .group_by(held.c.expires_at)
        .having(sa.func.sum(held.c.points) > 0)
    ).all()
    by_month: dict[date, int] = defaultdict(int)
    for expires_at, points in rows:
        by_month[month_of(valid_until(expires_at, policy.zone))] += int(points)
    owed = session.scalar(
        sa.select(
            sa.func.coalesce(sa.func.sum(months.c.deferred_points - months.c.passed_on_points), 0)
        )
    )
    expiring = sorted(by_month.items())
    return Liability(
        outstanding_points=int(outstanding or 0),
        overdue_points=int(outstanding or 0) - sum(points for _, points in expiring),
        expiring=expiring,
        owed_points=int(owed or 0),
    )


def budget_months(session: Session, first: date, last: date) -> list[BudgetMonth]:
    """The months from ``first`` to ``last`` that have a budget, in order."""
    return list(
        session.scalars(
            sa.select(BudgetMonth)
            .where(BudgetMonth.month >= month_of(first), BudgetMonth.month <= month_of(last))
            .order_by(BudgetMonth.month)
        )
    )


def month_range(current: date, *, before: int, after: int) -> list[date]:
    """``before`` months before ``current``'s, it, and ``after`` months after, in order."""
    month = month_of(current)
    for _ in range(before):
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    result = []
    for _ in range(before + after + 1):
        result.append(month)
        month = next_month(month)
    return result
