"""The API's one pagination convention: keyset pages addressed by an opaque cursor.

A request passes ``limit`` (1–200, default 50) and, for the next page, the ``cursor`` the previous
page returned as ``next_cursor``. Keyset pages stay fast however long a list grows, and stay
consistent while new rows arrive.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.api import json_depth
from app.api.ids import is_id
from app.errors import DomainError

MAX_LIMIT = 200


class PageArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_LIMIT))
    cursor = ma.fields.String(load_default=None)


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The envelope of one page of ``item_schema`` items, named for the OpenAPI document."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next_cursor": ma.fields.String(
                allow_none=True, metadata={"description": "Pass as `cursor` for the next page"}
            ),
        },
    )


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json_depth.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(values, list):
        raise _bad_cursor()
    return values


def decode_id_cursor(cursor: str) -> int:
    """The one id a keyset cursor carries; anything else (a list, a number too large for the
    database) is an invalid cursor, never a crash."""
    values = decode_cursor(cursor)
    if len(values) != 1 or not is_id(values[0]):
        raise _bad_cursor()
    return values[0]


def _bad_cursor() -> DomainError:
    return DomainError("invalid_cursor", _l("The page cursor is not valid."), field="cursor")


def keyset_page(
    session: Session, stmt: sa.Select[Any], id_column: Any, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """Newest first by a unique, increasing id column."""
    if cursor:
        stmt = stmt.where(id_column < decode_id_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].id]) if has_more and rows else None
    return {"items": rows, "next_cursor": next_cursor}
