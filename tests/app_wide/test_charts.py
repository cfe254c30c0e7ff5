"""A chart writes its amounts by the one rule for figures: exact grams as tonnes, never a float."""

from __future__ import annotations

from app import units
from app.dashboard import charts


def test_a_chart_of_grams_labels_its_bars_and_axis_in_tonnes_by_the_rule():
    chart = charts.stacked(
        ["2026-03", "2026-04"],
        {"bus_ride": [612, 1_000_001], "cycling": [0, 500_000]},
        names={"bus_ride": "公交", "cycling": "骑行"},
        unit="t CO2e",
        figure=units.tonnes_figure,
    )
    assert [label for _y, label in chart.ticks] == ["0.000", "0.750", "1.500"]
    assert [bar.title for bar in chart.bars] == [
        "2026-03 · 公交: 0.001 t CO2e",
        "2026-04 · 公交: 1.000 t CO2e",
        "2026-04 · 骑行: 0.500 t CO2e",
    ]  # a series with nothing that month draws no bar


def test_points_are_whole_numbers_with_separators_by_default():
    chart = charts.stacked(["2026-04"], {"issued": [12_345]}, names={}, unit="points")
    assert [label for _y, label in chart.ticks] == ["0", "6,172", "12,345"]
    assert chart.bars[0].title == "2026-04 · issued: 12,345 points"
