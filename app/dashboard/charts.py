"""Bar charts as plain geometry, drawn as inline SVG by the templates (no scripts needed).

The amounts are exact whole numbers (grams, points) and are written by the one rule of
:mod:`app.units`; only the geometry (pixels) is worked out in floats."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app import units

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
    series: Mapping[str, Sequence[int]],
    *,
    names: Mapping[str, str],
    unit: str,
    figure: Callable[[int], str] = units.whole,
) -> Chart:
    """One bar per category, each series stacked on the previous ones; ``figure`` writes an
    amount (e.g. grams as tonnes) in the bars' titles and on the axis."""
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
                    title=f"{category} · {names.get(key, key)}: {figure(values[i])} {unit}",
                )
            )
    labels = [(round(_LEFT + (i + 0.5) * slot, 2), c) for i, c in enumerate(categories)]
    ticks = [
        (round(HEIGHT - _BOTTOM - halves / 2 * plot_height, 2), figure(top * halves // 2))
        for halves in (0, 1, 2)
    ]
    legend = [(n % PALETTE_SIZE, names.get(key, key)) for n, key in enumerate(series)]
    return Chart(WIDTH, HEIGHT, bars, labels, ticks, legend)
