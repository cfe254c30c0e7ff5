"""The one rounding rule and exact arithmetic, independent of the caller's decimal context."""

from decimal import ROUND_DOWN, Decimal, Inexact, localcontext

import pytest

from methodologies import to_grams
from methodologies.rounding import mul
from methodologies.transit import MetroRide
from tests.plugins.methodologies.support import OCCURRED_AT


@pytest.mark.parametrize(
    ("exact", "grams"),
    [
        ("0", 0),
        ("0.4999999", 0),
        ("0.5", 1),
        ("1.5", 2),
        ("2.5", 3),  # half up, not half even
        ("269.00", 269),
        ("560.4", 560),
        ("220.58", 221),
        ("134.500", 135),
        ("58570.0000", 58_570),
    ],
)
def test_to_grams_rounds_half_up(exact: str, grams: int) -> None:
    assert to_grams(Decimal(exact)) == grams


def test_results_ignore_the_ambient_decimal_context() -> None:
    params = MetroRide.load_parameters(MetroRide.default_parameters())
    activity = MetroRide.build_activity({"distance_km": "12.0"}, OCCURRED_AT)
    expected = MetroRide.quantify(activity, params, explain=True)
    with localcontext() as context:
        context.prec = 2
        context.rounding = ROUND_DOWN
        assert MetroRide.quantify(activity, params, explain=True) == expected


def test_arithmetic_that_would_need_rounding_raises_instead() -> None:
    long = Decimal("1." + "1" * 60)
    with pytest.raises(Inexact):
        mul(long, long)
