"""Marshmallow building blocks for input and parameter schemas.

Validation happens once, when an activity's quantities or a version's parameters are loaded; the
quantify hot path then trusts the typed values. Bounding magnitude and decimal places here is what
keeps every product far inside the exact context's precision (see ``methodologies.rounding``).
"""

from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

from methodologies.rounding import EXACT

__all__ = ["INPUT_PLACES", "MAX_QUANTITY", "MaxPlaces", "quantity_field"]

#: Decimal places accepted in a reported quantity (km, kWh, kg): finer than any meter or odometer.
INPUT_PLACES = 6
#: Upper bound of any reported quantity: a technical limit, not a plausibility rule.
MAX_QUANTITY = Decimal(1_000_000)


class MaxPlaces(validate.Validator):
    """Reject more significant decimal places than allowed instead of rounding them away."""

    def __init__(self, places: int) -> None:
        self.places = places

    def __call__(self, value: Decimal) -> Decimal:
        exponent = EXACT.normalize(value).as_tuple().exponent
        if isinstance(exponent, int) and exponent < -self.places:
            raise ValidationError(f"At most {self.places} decimal places.")
        return value


def quantity_field(
    *,
    maximum: Decimal = MAX_QUANTITY,
    required: bool = True,
    **kwargs: Any,
) -> fields.Decimal:
    """A non-negative reported quantity, bounded and with at most ``INPUT_PLACES`` places.

    It dumps as a string, so a stored activity keeps "10.0" as reported (and JSON loses nothing).
    """
    return fields.Decimal(
        as_string=True,
        required=required,
        validate=[validate.Range(min=Decimal(0), max=maximum), MaxPlaces(INPUT_PLACES)],
        **kwargs,
    )
