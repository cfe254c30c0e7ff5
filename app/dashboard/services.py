"""City statistics: computed per local date by the statistics job, read by the public dashboard.

A date is recomputed by deleting its rows and inserting fresh ones in one transaction, so running
the job again (or after a crash) always leaves exactly one consistent set of rows per date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.dashboard.models import DailyActivityStatistic, DailyTotal
from app.ledger.models import Account, AccountType, Entry, Transaction
from app.reductions.models import Reduction, ReductionStatus


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return start, end


def compute_day(session: Session, day: date, *, tz: ZoneInfo, now: datetime) -> int:
    """Recompute one local date's rows; returns how many activity kinds it had."""
    start, end = _day_bounds(day, tz)
    verified = Reduction.status == ReductionStatus.VERIFIED
    on_day = (verified, Reduction.occurred_at >= start, Reduction.occurred_at < end)
    session.execute(sa.delete(DailyActivityStatistic).where(DailyActivityStatistic.day == day))
    session.execute(sa.delete(DailyTotal).where(DailyTotal.day == day))
    kinds = session.execute(
        sa.select(
            Reduction.activity_kind,
            sa.func.count(),
            sa.func.count(sa.distinct(Reduction.participant_id)),
            sa.func.coalesce(sa.func.sum(Reduction.reduction_g), 0),
        )
        .where(*on_day)
        .group_by(Reduction.activity_kind)
    ).all()
    for kind, activities, participants, grams in kinds:
        session.add(
            DailyActivityStatistic(
                day=day,
                activity_kind=kind,
                activities=activities,
                participants=participants,
                reduction_g=int(grams),
                computed_at=now,
            )
        )
    distinct_participants = sa.func.count(sa.distinct(Reduction.participant_id))
    session.add(
        DailyTotal(
            day=day,
            participants=session.scalar(sa.select(distinct_participants).where(*on_day)),
            participants_to_date=session.scalar(
                sa.select(distinct_participants).where(verified, Reduction.occurred_at < end)
            ),
            **_points_between(session, start, end),
            computed_at=now,
        )
    )
    session.flush()
    return len(kinds)


def _points_between(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Points issued, redeemed and expired by ledger transactions posted in [start, end), net of
    reversals posted then (the signs of the ledger's own totals)."""
    sums = dict(
        session.execute(
            sa.select(Account.type, sa.func.coalesce(sa.func.sum(Entry.amount), 0))
            .select_from(
                sa.join(Entry, Transaction, Transaction.id == Entry.transaction_id).join(
                    Account, Account.id == Entry.account_id
                )
            )
            .where(
                Transaction.created_at >= start,
                Transaction.created_at < end,
                Account.type.in_([AccountType.ISSUANCE, AccountType.MERCHANT, AccountType.EXPIRY]),
            )
            .group_by(Account.type)
        ).all()
    )
    return {
        "points_issued": -int(sums.get(AccountType.ISSUANCE, 0)),
        "points_redeemed": int(sums.get(AccountType.MERCHANT, 0)),
        "points_expired": int(sums.get(AccountType.EXPIRY, 0)),
    }


def compute_changed(session: Session, *, now: datetime, tz: ZoneInfo) -> dict[str, int]:
    """Recompute every local date whose figures may have changed since the last computation.

    That is from the earliest date of a reduction verified since then (partners report late,
    reviewers approve later, a first start finds a history) to today, and at least yesterday and
    today (points posted then). A date's ``participants_to_date`` counts every earlier date, so
    the later dates are recomputed with it.
    """
    today = clock.local_date(now, tz)
    first = today - timedelta(days=1)
    watermark = last_computed(session)
    verified = Reduction.status == ReductionStatus.VERIFIED
    since = [verified] if watermark is None else [verified, Reduction.verified_at > watermark]
    earliest = session.scalar(sa.select(sa.func.min(Reduction.occurred_at)).where(*since))
    if earliest is not None:
        first = min(first, clock.local_date(earliest, tz))
    kinds = days = 0
    day = first
    while day <= today:
        kinds += compute_day(session, day, tz=tz, now=now)
        days += 1
        day += timedelta(days=1)
    return {"days": days, "kind_rows": kinds}


def last_computed(session: Session) -> datetime | None:
    return session.scalar(sa.select(sa.func.max(DailyTotal.computed_at)))


def figures_changed(session: Session) -> bool:
    """Whether a reduction was verified or points moved since the statistics were computed."""
    watermark = last_computed(session)
    if watermark is None:
        return True
    verified = sa.exists().where(Reduction.verified_at > watermark)
    posted = sa.exists().where(Transaction.created_at > watermark)
    return bool(session.scalar(sa.select(sa.or_(verified, posted))))


@dataclass
class Month:
    month: str
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    participants_to_date: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    points_expired: int = 0

    @property
    def grams(self) -> int:
        return sum(row["reduction_g"] for row in self.by_kind.values())

    @property
    def activities(self) -> int:
        return sum(row["activities"] for row in self.by_kind.values())


def monthly(session: Session) -> list[Month]:
    """Per local month: activities and grams by kind, participants to date, points."""
    months: dict[str, Month] = {}

    def month_of(day: date) -> Month:
        key = f"{day:%Y-%m}"
        return months.setdefault(key, Month(key))

    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"activities": 0, "reduction_g": 0}
    )
    for row in session.scalars(sa.select(DailyActivityStatistic)):
        totals = sums[(f"{row.day:%Y-%m}", row.activity_kind)]
        totals["activities"] += row.activities
        totals["reduction_g"] += row.reduction_g
        month_of(row.day)
    for (key, kind), totals in sums.items():
        months[key].by_kind[kind] = totals
    for total in session.scalars(sa.select(DailyTotal).order_by(DailyTotal.day)):
        month = month_of(total.day)
        month.participants_to_date = max(month.participants_to_date, total.participants_to_date)
        month.points_issued += total.points_issued
        month.points_redeemed += total.points_redeemed
        month.points_expired += total.points_expired
    return [months[key] for key in sorted(months)]


def summary(months: list[Month]) -> dict[str, Any]:
    """City totals over every month."""
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: {"activities": 0, "reduction_g": 0})
    for month in months:
        for kind, row in month.by_kind.items():
            kinds[kind]["activities"] += row["activities"]
            kinds[kind]["reduction_g"] += row["reduction_g"]
    return {
        "activities": sum(m.activities for m in months),
        "reduction_g": sum(m.grams for m in months),
        "participants": max((m.participants_to_date for m in months), default=0),
        "points_issued": sum(m.points_issued for m in months),
        "points_redeemed": sum(m.points_redeemed for m in months),
        "points_expired": sum(m.points_expired for m in months),
        "by_kind": dict(sorted(kinds.items())),
    }
