"""Bulk writes on the session's own connection and transaction: COPY on PostgreSQL.

The ORM's unit of work costs about ten times more per row than COPY (see PERFORMANCE.md), so the
ingestion path allocates ids itself and streams rows. Everything runs inside the session's
transaction, so the request still commits or rolls back as one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import next_ids


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def allocate_ids(session: Session, table: sa.Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``, in increasing order."""
    return next_ids(session.connection(), table.name, count)


def insert_rows(
    session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, JSON columns as Python values).

    PostgreSQL: one COPY through the session's psycopg connection. Elsewhere: one executemany.
    """
    if not rows:
        return
    json_positions = [
        position for position, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)
    ]
    session.flush()  # anything the ORM holds goes first, in the same transaction
    if _is_postgresql(session):
        connection = session.connection().connection.driver_connection
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        dumps = json.dumps
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            if json_positions:
                for row in rows:
                    values = list(row)
                    for position in json_positions:
                        value = values[position]
                        if value is not None:  # SQL NULL stays NULL, as the ORM writes it
                            values[position] = dumps(value, ensure_ascii=False)
                    write(values)
            else:
                for row in rows:
                    write(row)
        return
    session.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def any_of(column: sa.ColumnElement[Any], values: Sequence[Any], session: Session) -> Any:
    """``column IN values``; one array parameter on PostgreSQL instead of thousands."""
    if _is_postgresql(session):
        from sqlalchemy.dialects.postgresql import ARRAY

        element_type = column.type if not isinstance(column.type, sa.Enum) else sa.String()
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(element_type)))
    return column.in_(list(values))
