"""What a bank may read of a participant's carbon record: verified reductions only, never a trip.

Months are the city's calendar months. Grams are exact integers; kilograms are Decimals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.filings.models import FilingBatch, FilingLine
from app.ledger.accounts import balance
from app.reductions.models import Reduction, ReductionStatus

#: Months a summary and a performance report look back over, this month included.
MONTHS_BACK = 12


@dataclass(frozen=True, slots=True)
class MonthTotal:
    month: str  # YYYY-MM
    grams: int

    @property
    def kilograms(self) -> Decimal:
        return Decimal(self.grams) / 1000


@dataclass(frozen=True, slots=True)
class KindMonth:
    month: str
    activity_kind: str
    reductions: int
    grams: int


@dataclass(frozen=True, slots=True)
class BatchHolding:
    serial: str
    methodology: str
    period_start: date
    root_hash: str
    grams: int


@dataclass(frozen=True, slots=True)
class StatementBody:
    period_start: date
    period_end: date  # first day after the period
    total_g: int
    lines: list[KindMonth]
    batches: list[BatchHolding]
    not_yet_filed_g: int


def month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _instant(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _verified(
    session: Session, holder_id: int, start: date, end: date, zone: ZoneInfo
) -> list[tuple[int, datetime, str, int]]:
    stmt = sa.select(
        Reduction.id, Reduction.occurred_at, Reduction.activity_kind, Reduction.reduction_g
    ).where(
        Reduction.participant_id == holder_id,
        Reduction.status == ReductionStatus.VERIFIED,
        Reduction.occurred_at >= _instant(start, zone),
        Reduction.occurred_at < _instant(end, zone),
    )
    return [tuple(row) for row in session.execute(stmt)]  # type: ignore[misc]


def _month_of(instant: datetime, zone: ZoneInfo) -> str:
    return clock.local_date(instant, zone).strftime("%Y-%m")


def monthly_totals(
    session: Session, holder_id: int, *, today: date, zone: ZoneInfo
) -> list[MonthTotal]:
    """Grams avoided in each of the last twelve months, oldest first (empty months as 0)."""
    start = month_start(today, MONTHS_BACK - 1)
    months = [month_start(today, back).strftime("%Y-%m") for back in range(MONTHS_BACK - 1, -1, -1)]
    grams: dict[str, int] = dict.fromkeys(months, 0)
    for _id, occurred_at, _kind, reduction_g in _verified(
        session, holder_id, start, month_start(today, -1), zone
    ):
        grams[_month_of(occurred_at, zone)] += reduction_g
    return [MonthTotal(month, grams[month]) for month in months]


@dataclass(frozen=True, slots=True)
class Summary:
    balance: int
    months: list[MonthTotal]


def summary(session: Session, holder_id: int, *, today: date, zone: ZoneInfo) -> Summary:
    """The carbon.summary scope: points balance and kilograms avoided per month."""
    return Summary(
        balance=balance(session, holder_id),
        months=monthly_totals(session, holder_id, today=today, zone=zone),
    )


def statement_body(
    session: Session, holder_id: int, *, start: date, end: date, zone: ZoneInfo
) -> StatementBody:
    """Verified reductions from ``start`` to the day before ``end``, by month and kind, and the
    filing batches that hold them (a reduction not yet filed is counted apart)."""
    rows = _verified(session, holder_id, start, end, zone)
    per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for _id, occurred_at, kind, reduction_g in rows:
        cell = per[(_month_of(occurred_at, zone), kind)]
        cell[0] += 1
        cell[1] += reduction_g
    lines = [KindMonth(month, kind, n, g) for (month, kind), (n, g) in sorted(per.items())]
    ids = [row[0] for row in rows]
    batches: dict[str, BatchHolding] = {}
    filed_g = 0
    for chunk in range(0, len(ids), 500):
        stmt = (
            sa.select(FilingBatch, FilingLine.reduction_g)
            .join(FilingLine, FilingLine.batch_id == FilingBatch.id)
            .where(FilingLine.reduction_id.in_(ids[chunk : chunk + 500]), FilingLine.active)
        )
        for batch, grams in session.execute(stmt):
            held = batches.get(batch.serial)
            total = grams + (held.grams if held else 0)
            batches[batch.serial] = BatchHolding(
                batch.serial,
                f"{batch.methodology_code}@{batch.methodology_version}",
                batch.period_start,
                batch.root_hash,
                total,
            )
            filed_g += grams
    total_g = sum(row[3] for row in rows)
    return StatementBody(
        period_start=start,
        period_end=end,
        total_g=total_g,
        lines=lines,
        batches=sorted(batches.values(), key=lambda b: b.serial),
        not_yet_filed_g=total_g - filed_g,
    )


@dataclass(frozen=True, slots=True)
class Performance:
    months: list[MonthTotal]
    last_quarter_g: int
    previous_quarter_g: int

    @property
    def trend_percent(self) -> Decimal | None:
        """Change of the last three months over the three before, in percent (1 decimal)."""
        if self.previous_quarter_g == 0:
            return None
        change = Decimal(self.last_quarter_g - self.previous_quarter_g) * 100
        return (change / self.previous_quarter_g).quantize(Decimal("0.1"))


def performance(session: Session, holder_id: int, *, today: date, zone: ZoneInfo) -> Performance:
    """The org.performance scope: twelve months of verified reductions and their trend.

    The quarters compared are the last three complete months and the three before them.
    """
    months = monthly_totals(session, holder_id, today=today, zone=zone)
    complete = months[:-1]
    return Performance(
        months=months,
        last_quarter_g=sum(m.grams for m in complete[-3:]),
        previous_quarter_g=sum(m.grams for m in complete[-6:-3]),
    )
