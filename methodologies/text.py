"""Bilingual text (the ``Text`` both plugin families share) and the number formats of the
calculation trace a resident reads.

Traces show the exact intermediate value (never a display-rounded one), so the only rounding a
reader sees is the final ``→ N g`` step, which is ``to_grams``.
"""

from decimal import ROUND_HALF_UP, Context, Decimal

from methodologies.rounding import EXACT
from plugins.text import Text

__all__ = ["Text", "Trace", "approx", "exact", "factor", "grams", "quantity"]

_ONE_PLACE = Decimal("0.1")
# Only for values shown as "about" in messages (a speed); never used for grams.
_DISPLAY = Context(prec=28, rounding=ROUND_HALF_UP)


#: The calculation trace of one quantification, e.g. en "10.0 km × 26.9 g/km = 269.0 g → 269 g".
Trace = Text


def quantity(value: Decimal | int) -> str:
    """A quantity as it was reported ("10.0" stays "10.0"), digits grouped."""
    return f"{value:,f}" if isinstance(value, Decimal) else f"{value:,}"


def factor(value: Decimal) -> str:
    """A parameter without padding zeros (0.5857 kg → "585.7" g)."""
    return f"{EXACT.normalize(value):,f}"


def exact(value: Decimal) -> str:
    """An exact intermediate result with at least one decimal place ("269.0", "220.58")."""
    normal = EXACT.normalize(value) if value else Decimal(0)
    if normal == normal.to_integral_value(context=EXACT):
        normal = normal.quantize(_ONE_PLACE, context=EXACT)
    return f"{normal:,f}"


def grams(value: int) -> str:
    """Whole grams, digits grouped ("58,570")."""
    return f"{value:,}"


def approx(numerator: Decimal, denominator: Decimal) -> str:
    """A ratio rounded to one place for a message (a speed); display only."""
    return f"{_DISPLAY.divide(numerator, denominator).quantize(_ONE_PLACE, context=_DISPLAY):,f}"
