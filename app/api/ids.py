"""Ids as the database stores them: whole numbers from 1 to 2^63 - 1.

Every table's id is a BIGINT (on SQLite an INTEGER, the same 64 signed bits). A larger number
names no row, but handing it to the database driver raises an overflow, which would be a 500.
So an id is checked once, where it enters:

- in a path, by :class:`IdConverter`, which the app factory installs as the URL map's ``int``
  converter (every integer in this platform's URLs is an id): a number out of range matches no
  route and is a 404 with the usual error body, and the OpenAPI document names the bounds;
- in a query or a JSON body, by the marshmallow field :class:`Id` (a 422 naming the field);
- in a page's query string or form, by :func:`parse_id` (no id, so the page treats it as absent).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from werkzeug.routing import IntegerConverter, Map

MIN_ID = 1
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """``<int:name>`` in a route: an id within the database's range, or no match (404)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = MIN_ID,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class Id(ma.fields.Integer):
    """An id in a query or body: an integer within the database's range (422 otherwise)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.insert(0, ma.validate.Range(MIN_ID, MAX_ID))


def is_id(value: object) -> bool:
    """Whether ``value`` (already parsed, from a cursor say) is an id the database can hold."""
    return type(value) is int and MIN_ID <= value <= MAX_ID


def parse_id(text: str | None) -> int | None:
    """An id from a page's query string or form field, or None when it cannot be one."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if is_id(value) else None
