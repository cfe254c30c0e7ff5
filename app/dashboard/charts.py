"""Bar charts as plain geometry, drawn as inline SVG by the templates (no scripts needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
_LEFT, _BOTTOM, _TOP = 72, 34, 12
PALETTE_SIZE = 8


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    ticks: list[tuple[float, str]]
    legend: list[tuple[int, str]]


def stacked(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    names: Mapping[str, str],
    unit: str,
) -> Chart:
    """One bar per category, each series stacked on the previous ones."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    top = max(totals, default=0) or 1
    plot_height = HEIGHT - _BOTTOM - _TOP
    slot = (WIDTH - _LEFT) / max(len(categories), 1)
    bars = []
    for i, category in enumerate(categories):
        base = HEIGHT - _BOTTOM
        for number, (key, values) in enumerate(series.items()):
            height = values[i] / top * plot_height
            if height <= 0:
                continue
            base -= height
            bars.append(
                Bar(
                    x=round(_LEFT + i * slot + slot * 0.15, 2),
                    y=round(base, 2),
                    width=round(slot * 0.7, 2),
                    height=round(height, 2),
                    series=number % PALETTE_SIZE,
                    title=f"{category} · {names.get(key, key)}: {_number(values[i])} {unit}",
                )
            )
    labels = [(round(_LEFT + (i + 0.5) * slot, 2), c) for i, c in enumerate(categories)]
    ticks = [
        (round(HEIGHT - _BOTTOM - fraction * plot_height, 2), _number(top * fraction))
        for fraction in (0, 0.5, 1)
    ]
    legend = [(n % PALETTE_SIZE, names.get(key, key)) for n, key in enumerate(series)]
    return Chart(WIDTH, HEIGHT, bars, labels, ticks, legend)


def _number(value: float) -> str:
    """Whole numbers with separators; small fractions (tonnes of a quiet month) to 3 digits."""
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:.3g}"
