"""The day-by-day bar chart of a resident's pages: the home page's grams, the wallet's points.

One geometry for both (and one template macro, ``_day_chart.html``), so both carry the same
labelled axes, the same tap/keyboard readout and the same table as a text alternative. A day may
stack several series (the wallet's issued and capped points); the scale tops out at a round value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.ledger.queries import DayPoints
from app.wallet.footprint import DayGrams

#: SVG user units: the plot sits right of the y labels and above the x labels.
WIDTH, HEIGHT = 340, 172
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 52, 336, 26, 132
#: One date label on the x axis every week.
LABEL_EVERY = 7


@dataclass(frozen=True, slots=True)
class Segment:
    series: int  # 0 for the first series, stacked upwards
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class DayBar:
    day: date
    values: tuple[int, ...]
    slot_x: float  # the day's whole column, the target a finger or pointer lands on
    slot_width: float
    x: float
    width: float
    segments: tuple[Segment, ...]  # only the non-zero ones

    @property
    def centre(self) -> float:
        return round(self.slot_x + self.slot_width / 2, 2)


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    value: int


@dataclass(frozen=True, slots=True)
class DayChart:
    bars: list[DayBar]
    y_ticks: list[Tick]  # 0, half and the top of the scale
    #: The bars whose date is written under the x axis, one a week from the first.
    x_labels: list[DayBar]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM


def nice_top(peak: int, floor: int) -> int:
    """The smallest of 1, 2, 5 × 10^n at or above the peak, and never below ``floor``."""
    if peak <= floor:
        return floor
    step = 10 ** (len(str(peak)) - 1)
    for factor in (1, 2, 5):
        if factor * step >= peak:
            return factor * step
    return 10 * step


def day_chart(days: Sequence[tuple[date, tuple[int, ...]]], *, floor: int) -> DayChart:
    """Stacked bars of each day's values scaled to a round top (``floor`` when all is quiet)."""
    top = nice_top(max((sum(values) for _day, values in days), default=0), floor)
    plot_height = PLOT_BOTTOM - PLOT_TOP
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(days), 1)
    bars = []
    for n, (day, values) in enumerate(days):
        segments, base = [], float(PLOT_BOTTOM)
        for series, value in enumerate(values):
            if value:
                height = plot_height * value / top
                base -= height
                segments.append(Segment(series, round(base, 2), round(height, 2)))
        bars.append(
            DayBar(
                day=day,
                values=values,
                slot_x=round(PLOT_LEFT + n * slot, 2),
                slot_width=round(slot, 2),
                x=round(PLOT_LEFT + n * slot + slot * 0.15, 2),
                width=round(slot * 0.7, 2),
                segments=tuple(segments),
            )
        )
    y_ticks = [Tick(PLOT_BOTTOM - plot_height * part / 2, top * part // 2) for part in (0, 1, 2)]
    return DayChart(bars, y_ticks, bars[::LABEL_EVERY])


def grams_chart(days: Sequence[DayGrams]) -> DayChart:
    """The home page's chart: grams CO2e avoided per day (the scale reaches at least 100 g)."""
    return day_chart([(day.day, (day.grams,)) for day in days], floor=100)


def points_chart(days: Sequence[DayPoints]) -> DayChart:
    """The wallet's chart: points issued per day of the month, the capped ones stacked on top."""
    return day_chart([(day.day, (day.issued, day.capped)) for day in days], floor=10)
