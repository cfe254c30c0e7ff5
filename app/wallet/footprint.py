"""What a resident avoided: verified grams CO2e in all, this month, and per day of recent weeks.

Counted from the issuances (one per verified reduction, dated by the activity's local day, indexed
by participant and day), joined to the reductions' grams: the home page's figures and chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.ledger.models import Issuance
from app.reductions.models import Reduction

issuances = Issuance.__table__
reductions = Reduction.__table__

#: Grams CO2e of a private car per passenger-km: Beijing MaaS launch material, 2019 (a 22 km
#: commute is 5.98 kg by car), the everyday equivalence the home page gives.
CAR_G_PER_KM = Decimal("271.8")


@dataclass(frozen=True, slots=True)
class DayGrams:
    day: date
    grams: int


@dataclass(frozen=True, slots=True)
class Footprint:
    total_g: int
    month_g: int
    #: Every day of the recent weeks, oldest first, ending today.
    days: list[DayGrams]

    @property
    def car_km(self) -> int:
        """The total as kilometres not driven by a private car, rounded half up."""
        return int((Decimal(self.total_g) / CAR_G_PER_KM).quantize(Decimal(1), ROUND_HALF_UP))


def footprint(session: Session, holder_id: int, today: date, *, weeks: int = 4) -> Footprint:
    """The holder's verified grams: in all, in ``today``'s month, and each of the last weeks."""
    first_day = today - timedelta(days=7 * weeks - 1)
    month_start = today.replace(day=1)
    grams = sa.func.coalesce(sa.func.sum(reductions.c.reduction_g), 0)
    mine = (
        sa.select()
        .select_from(issuances.join(reductions, reductions.c.id == issuances.c.reduction_id))
        .where(issuances.c.participant_id == holder_id)
    )
    total = session.scalar(mine.add_columns(grams)) or 0
    month = session.scalar(mine.add_columns(grams).where(issuances.c.activity_date >= month_start))
    per_day = dict(
        session.execute(
            mine.add_columns(issuances.c.activity_date, grams)
            .where(issuances.c.activity_date.between(first_day, today))
            .group_by(issuances.c.activity_date)
        ).all()
    )
    days = [
        DayGrams(day, int(per_day.get(day, 0)))
        for day in (first_day + timedelta(days=n) for n in range(7 * weeks))
    ]
    return Footprint(int(total), int(month or 0), days)


#: The home chart's SVG geometry (user units): the plot sits right of the y labels, above the x's.
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 52, 336, 26, 132


@dataclass(frozen=True, slots=True)
class DayBar:
    day: date
    grams: int
    slot_x: float  # the day's whole column, the target a finger or pointer lands on
    slot_width: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    grams: int


@dataclass(frozen=True, slots=True)
class DaysChart:
    bars: list[DayBar]
    y_ticks: list[Tick]  # 0, half and the top of the scale, in grams


def _nice_top(peak: int) -> int:
    """The smallest of 1, 2, 5 × 10^n grams at or above the peak (100 g when nothing was done)."""
    if peak <= 100:
        return 100
    step = 10 ** (len(str(peak)) - 1)
    for factor in (1, 2, 5):
        if factor * step >= peak:
            return factor * step
    return 10 * step


def days_chart(days: list[DayGrams]) -> DaysChart:
    """Bars of grams per day scaled to a rounded top, with ticks for both labelled axes."""
    top = _nice_top(max((day.grams for day in days), default=0))
    height = PLOT_BOTTOM - PLOT_TOP
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(days), 1)
    bars = []
    for n, day in enumerate(days):
        bar_height = height * day.grams / top
        bars.append(
            DayBar(
                day=day.day,
                grams=day.grams,
                slot_x=round(PLOT_LEFT + n * slot, 2),
                slot_width=round(slot, 2),
                x=round(PLOT_LEFT + n * slot + slot * 0.15, 2),
                y=round(PLOT_BOTTOM - bar_height, 2),
                width=round(slot * 0.7, 2),
                height=round(bar_height, 2),
            )
        )
    y_ticks = [Tick(PLOT_BOTTOM - height * part / 2, top * part // 2) for part in (0, 1, 2)]
    return DaysChart(bars, y_ticks)
