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

from app import adapters, clock
from app.dashboard.models import DailyActivityStatistic, DailyTotal
from app.ledger.models import Account, AccountType, Entry, Transaction
from app.reductions.models import Reduction, ReductionStatus


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return start, end


def compute_days(session: Session, first: date, last: date, *, tz: ZoneInfo, now: datetime) -> int:
    """Recompute the rows of every local date from ``first`` to ``last``; returns how many
    (date, kind) rows it wrote.

    A few statements for the whole span, each grouping by the city's date in the database: the
    span may be months long (a first start finds a history, a partner reports late), and a query
    per date would read the reductions once for every date in it.
    """
    start, end = _day_bounds(first, tz)[0], _day_bounds(last, tz)[1]
    verified = Reduction.status == ReductionStatus.VERIFIED
    in_span = (verified, Reduction.occurred_at >= start, Reduction.occurred_at < end)
    day = adapters.of(session).local_date(Reduction.occurred_at, tz)
    for model in (DailyActivityStatistic, DailyTotal):
        session.execute(sa.delete(model).where(model.day >= first, model.day <= last))
    by_kind = session.execute(
        sa.select(
            day,
            Reduction.activity_kind,
            sa.func.count(),
            sa.func.count(sa.distinct(Reduction.participant_id)),
            sa.func.coalesce(sa.func.sum(Reduction.reduction_g), 0),
        )
        .where(*in_span)
        .group_by(day, Reduction.activity_kind)
    ).all()
    for on, kind, activities, participants, grams in by_kind:
        session.add(
            DailyActivityStatistic(
                day=date.fromisoformat(on),
                activity_kind=kind,
                activities=activities,
                participants=participants,
                reduction_g=int(grams),
                computed_at=now,
            )
        )
    participants = dict(
        session.execute(
            sa.select(day, sa.func.count(sa.distinct(Reduction.participant_id)))
            .where(*in_span)
            .group_by(day)
        ).all()
    )
    running, newcomers = _first_days(session, first, start, end, tz)
    points = _points_by_day(session, start, end, tz)
    on = first
    while on <= last:
        key = on.isoformat()
        running += newcomers.get(key, 0)
        session.add(
            DailyTotal(
                day=on,
                participants=participants.get(key, 0),
                participants_to_date=running,
                **points[key],
                computed_at=now,
            )
        )
        on += timedelta(days=1)
    session.flush()
    return len(by_kind)


def _first_days(
    session: Session, first: date, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[int, dict[str, int]]:
    """How many participants had a verified reduction before ``start`` (the local date
    ``first``), and how many had their first one on each local date up to ``end``: a date's
    running total of participants is the first figure plus the second summed up to that date.

    Both read what the span needs, not the whole history: the figure before the span is the
    date before's own running total where it was computed (dates before the span did not change,
    or the span would begin earlier); newcomers are the span's participants with no earlier
    verified reduction, each looked up by its participant and time.
    """
    verified = Reduction.status == ReductionStatus.VERIFIED
    before = session.scalar(
        sa.select(DailyTotal.participants_to_date).where(
            DailyTotal.day == first - timedelta(days=1)
        )
    )
    if before is None:
        before = session.scalar(
            sa.select(sa.func.count(sa.distinct(Reduction.participant_id))).where(
                verified, Reduction.occurred_at < start
            )
        )
    in_span = (
        sa.select(Reduction.participant_id, sa.func.min(Reduction.occurred_at).label("first"))
        .where(verified, Reduction.occurred_at >= start, Reduction.occurred_at < end)
        .group_by(Reduction.participant_id)
        .subquery()
    )
    seen_before = sa.exists().where(
        Reduction.participant_id == in_span.c.participant_id,
        verified,
        Reduction.occurred_at < start,
    )
    day = adapters.of(session).local_date(in_span.c.first, tz)
    rows = session.execute(sa.select(day, sa.func.count()).where(~seen_before).group_by(day)).all()
    return before or 0, dict(rows)


def _points_by_day(
    session: Session, start: datetime, end: datetime, tz: ZoneInfo
) -> defaultdict[str, dict[str, int]]:
    """Per local date: points issued, redeemed and expired by ledger transactions posted then,
    net of reversals posted then (the signs of the ledger's own totals)."""
    day = adapters.of(session).local_date(Transaction.created_at, tz)
    rows = session.execute(
        sa.select(day, Account.type, sa.func.coalesce(sa.func.sum(Entry.amount), 0))
        .select_from(
            sa.join(Entry, Transaction, Transaction.id == Entry.transaction_id).join(
                Account, Account.id == Entry.account_id
            )
        )
        .where(
            Transaction.created_at >= start,
            Transaction.created_at < end,
            Account.type.in_(list(_POINTS_FIELDS)),
        )
        .group_by(day, Account.type)
    ).all()
    points: defaultdict[str, dict[str, int]] = defaultdict(
        lambda: {name: 0 for name, _sign in _POINTS_FIELDS.values()}
    )
    for on, account_type, total in rows:
        name, sign = _POINTS_FIELDS[account_type]
        points[on][name] = sign * int(total)
    return points


#: The daily total's points figures: the ledger account type each sums, and its sign.
_POINTS_FIELDS = {
    AccountType.ISSUANCE: ("points_issued", -1),
    AccountType.MERCHANT: ("points_redeemed", 1),
    AccountType.EXPIRY: ("points_expired", 1),
}


#: How far before its last computation the job looks again. A reduction is stamped verified,
#: and points posted, when its request begins; a batch that commits while the job runs would
#: otherwise fall behind the watermark and never be counted.
SETTLE = timedelta(minutes=5)


def compute_changed(session: Session, *, now: datetime, tz: ZoneInfo) -> dict[str, int]:
    """Recompute every local date whose figures may have changed since the last computation.

    That is from the earliest date of a reduction verified since then, less :data:`SETTLE`
    (partners report late, reviewers approve later, a first start finds a history), to today,
    and at least yesterday and today (points posted then). A date's ``participants_to_date``
    counts every earlier date, so the later dates are recomputed with it.
    """
    today = clock.local_date(now, tz)
    first = today - timedelta(days=1)
    watermark = last_computed(session)
    verified = Reduction.status == ReductionStatus.VERIFIED
    since = (
        [verified] if watermark is None else [verified, Reduction.verified_at > watermark - SETTLE]
    )
    # Grouped, so the planner reads what was verified lately (BRIN on verified_at) rather than
    # walking the occurred_at index from the oldest reduction for one verified lately: the newest
    # reductions sit at that index's far end.
    earliest = session.scalar(
        sa.select(sa.func.min(Reduction.occurred_at)).where(*since).group_by(Reduction.status)
    )
    if earliest is not None:
        first = min(first, clock.local_date(earliest, tz))
    kind_rows = compute_days(session, first, today, tz=tz, now=now)
    return {"days": (today - first).days + 1, "kind_rows": kind_rows}


def last_computed(session: Session) -> datetime | None:
    return session.scalar(sa.select(sa.func.max(DailyTotal.computed_at)))


def figures_changed(session: Session) -> bool:
    """Whether a reduction was verified or points moved since the statistics were computed
    (less :data:`SETTLE`)."""
    watermark = last_computed(session)
    if watermark is None:
        return True
    verified = sa.exists().where(Reduction.verified_at > watermark - SETTLE)
    posted = sa.exists().where(Transaction.created_at > watermark - SETTLE)
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
