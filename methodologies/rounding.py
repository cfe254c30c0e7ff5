"""Exact arithmetic and the platform's one rounding rule.

A stored reduction must be recomputable to the gram from its inputs, version and parameters, so the
result may not depend on the caller's decimal context (an app can change ``getcontext()``) nor on a
rounding hidden in an intermediate step. Methodologies therefore compute with the functions below:
their context has far more precision than any validated input needs and traps ``Inexact``, so a
computation that would have to round raises instead of silently losing digits. The only rounding is
``to_grams``: half up to whole grams, applied once to each reported figure.
"""

from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

__all__ = ["EXACT", "ZERO", "add", "mul", "sub", "to_grams"]

EXACT = Context(
    prec=100,
    rounding=ROUND_HALF_UP,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
_GRAMS = Context(prec=100, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])

ZERO = Decimal(0)

# Bound methods of EXACT: the hot path skips the attribute lookup and ignores the thread's context.
mul = EXACT.multiply
sub = EXACT.subtract
add = EXACT.add
_to_integral = _GRAMS.to_integral_value


def to_grams(value: Decimal) -> int:
    """Round grams half up to a whole gram (560.4 → 560, 220.5 → 221): the one rounding rule."""
    return int(_to_integral(value))
