"""What the rules read of a participant's history, summed by the database: no row per activity.

Local days are the city's (``tz``): each is turned into its two instants, so the SQL is portable
and the index on (participant, occurred_at) serves it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters
from app.methodology import outcome
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction, ReductionStatus


def day_bounds(days: Iterable[date], tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    return [
        (
            day,
            datetime.combine(day, time(), tz),
            datetime.combine(day + timedelta(days=1), time(), tz),
        )
        for day in sorted(set(days))
    ]


def day_of(column: Any, bounds: list[tuple[date, datetime, datetime]]) -> Any:
    """Which of ``bounds``' local days an instant falls on: its index, else NULL (portable SQL)."""
    return sa.case(
        *(
            (sa.and_(column >= start, column < end), index)
            for index, (_d, start, end) in enumerate(bounds)
        ),
        else_=sa.null(),
    )


def cap_room(
    session: Session,
    *,
    participants: Iterable[int],
    codes: Iterable[str],
    days: Iterable[date],
    tz: ZoneInfo,
) -> outcome.CapRoom:
    """Grams already credited to ``participants`` by the methodologies ``codes`` in each month of
    ``days``: summed by the database, one row per participant, code and day of the
    batch plus one for the rest of each month."""
    room = outcome.CapRoom(tz)
    reductions, versions = Reduction.__table__, MethodologyVersion.__table__
    participants = sorted(set(participants))
    codes = sorted(set(codes))
    days = set(days)
    any_of = adapters.of(session).any_of
    for first in sorted({day.replace(day=1) for day in days}):
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        bounds = day_bounds((d for d in days if first <= d < after), tz)
        day = day_of(reductions.c.occurred_at, bounds)
        grams = sa.func.coalesce(reductions.c.credited_g, reductions.c.reduction_g)
        rows = session.execute(
            sa.select(reductions.c.participant_id, versions.c.code, day, sa.func.sum(grams))
            .join(versions, versions.c.id == reductions.c.methodology_version_id)
            .where(
                any_of(reductions.c.participant_id, participants),
                reductions.c.occurred_at >= datetime.combine(first, time(), tz),
                reductions.c.occurred_at < datetime.combine(after, time(), tz),
                reductions.c.status == ReductionStatus.VERIFIED.value,
                versions.c.code.in_(codes),
            )
            .group_by(reductions.c.participant_id, versions.c.code, day)
        )
        for participant, code, index, total in rows:
            on_day = bounds[index][0] if index is not None else first
            room.add(participant, code, on_day, int(total), whole_month=index is None)
    return room
