"""Fields whose documented type is exactly what they accept and return."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

#: Yuan to the fen, as text: exact, never a binary float.
YUAN_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"


class StrictBoolean(ma.fields.Boolean):
    """A JSON boolean: ``true`` or ``false`` only (marshmallow's own also takes 0, 1, "yes" …)."""

    truthy: set[Any] = {True}  # noqa: RUF012 - marshmallow reads these class attributes
    falsy: set[Any] = {False}  # noqa: RUF012

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def yuan(description: str, **kwargs: Any) -> ma.fields.Decimal:
    """An amount in yuan, sent as a string with two decimals (e.g. ``"12.30"``)."""
    return ma.fields.Decimal(
        as_string=True,
        places=2,
        metadata={
            "description": description + ' (exact, a string with two decimals, e.g. "12.30")',
            "type": "string",
            "pattern": YUAN_PATTERN,
        },
        **kwargs,
    )
