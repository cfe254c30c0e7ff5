"""Bulk writes on the session's own connection and transaction: COPY on PostgreSQL.

The ORM's unit of work costs about ten times more per row than COPY (see PERFORMANCE.md), so the
ingestion path allocates ids itself and streams rows. Everything runs inside the session's
transaction, so the request still commits or rolls back as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import copy_rows, next_ids


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def allocate_ids(session: Session, table: sa.Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``, in increasing order."""
    return next_ids(session.connection(), table.name, count)


def insert_rows(
    session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, JSON columns as Python values), after
    anything the ORM still holds, in the same transaction."""
    session.flush()
    copy_rows(session.connection(), table, columns, rows)


def any_of(column: sa.ColumnElement[Any], values: Sequence[Any], session: Session) -> Any:
    """``column IN values``; one array parameter on PostgreSQL instead of thousands."""
    if _is_postgresql(session):
        from sqlalchemy.dialects.postgresql import ARRAY

        element_type = column.type if not isinstance(column.type, sa.Enum) else sa.String()
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(element_type)))
    return column.in_(list(values))
