"""Points and CO2e written one way everywhere: on pages, in CSV files and in the API's words.

Whole numbers take a comma every three digits (12,345) in both languages. Grams are for one
activity, kilograms (one decimal) for what a person avoided, tonnes (three decimals) for a
city's or a filing's totals. Every figure is rounded half up from exact grams, except an amount
a person may ask for up to (what they can still give), which is rounded down so that typing the
figure back never asks for more than there is; no float is used.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

GRAMS_PER_KG = Decimal(1000)
GRAMS_PER_TONNE = Decimal(1_000_000)
KG_STEP = Decimal("0.1")
TONNE_STEP = Decimal("0.001")


def whole(value: int) -> str:
    """A count or an amount of points: 12,345 (signed on request: +12,345, -50)."""
    return f"{value:,}"


def signed(value: int) -> str:
    return f"{value:+,}"


def grams(value: int) -> str:
    return f"{value:,} g"


def kilograms_value(grams_co2e: int, *, at_most: bool = False) -> Decimal:
    rounding = ROUND_FLOOR if at_most else ROUND_HALF_UP
    return (Decimal(grams_co2e) / GRAMS_PER_KG).quantize(KG_STEP, rounding)


def kilograms(grams_co2e: int, *, at_most: bool = False) -> str:
    """What a person avoided: 1,234.5 kg; ``at_most`` for a limit they may ask up to."""
    return f"{kilograms_value(grams_co2e, at_most=at_most):,} kg"


def tonnes_figure(grams_co2e: int) -> str:
    """A city's or a filing's total without its unit, for a page that names it beside: 1,234.568."""
    value = (Decimal(grams_co2e) / GRAMS_PER_TONNE).quantize(TONNE_STEP, ROUND_HALF_UP)
    return f"{value:,}"


def tonnes(grams_co2e: int) -> str:
    """A city's or a filing's total: 1,234.568 t."""
    return f"{tonnes_figure(grams_co2e)} t"
