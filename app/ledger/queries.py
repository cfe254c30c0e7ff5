"""Reading a wallet: balance, what expires when and this month's points.

The wallet's history, described with what each transaction was for, is the wallet's read model
(``app.wallet.history``): the ledger knows no domain that feeds or spends from it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.ledger.expiry import ExpiringLot, upcoming_expiries
from app.ledger.models import Account, Issuance
from app.ledger.policy import LedgerPolicy

accounts = Account.__table__
issuances = Issuance.__table__


@dataclass(frozen=True, slots=True)
class DayPoints:
    day: date
    issued: int
    capped: int


@dataclass(frozen=True, slots=True)
class WalletSummary:
    holder_id: int
    balance: int
    expiring: list[ExpiringLot]
    #: Every day of the current local month: points issued for that day's activities, and capped.
    month: list[DayPoints]

    @property
    def month_issued(self) -> int:
        return sum(day.issued for day in self.month)

    @property
    def month_capped(self) -> int:
        return sum(day.capped for day in self.month)


def wallet_summary(
    session: Session, holder_id: int, *, now: datetime, policy: LedgerPolicy
) -> WalletSummary:
    row = session.execute(
        sa.select(accounts.c.id, accounts.c.balance).where(accounts.c.holder_id == holder_id)
    ).one_or_none()
    today = policy.local_date(now)
    month = month_points(session, holder_id, today)
    if row is None:
        return WalletSummary(holder_id, 0, [], month)
    lots = upcoming_expiries(session, row.id, row.balance, now=now, policy=policy)
    return WalletSummary(holder_id, row.balance, lots, month)


def month_points(session: Session, holder_id: int, today: date) -> list[DayPoints]:
    """Points issued per activity day of ``today``'s month (the wallet page's chart)."""
    first = today.replace(day=1)
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    rows = session.execute(
        sa.select(
            issuances.c.activity_date,
            sa.func.sum(issuances.c.issued_points),
            sa.func.sum(issuances.c.capped_points),
        )
        .where(
            issuances.c.participant_id == holder_id,
            issuances.c.activity_date.between(first, last),
        )
        .group_by(issuances.c.activity_date)
    ).all()
    totals = {day: (int(issued), int(capped)) for day, issued, capped in rows}
    return [
        DayPoints(first.replace(day=n), *totals.get(first.replace(day=n), (0, 0)))
        for n in range(1, last.day + 1)
    ]
