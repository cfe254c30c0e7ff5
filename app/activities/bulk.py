"""Bulk writes on the session's own connection and transaction (COPY on PostgreSQL, see
:mod:`app.adapters`).

The ORM's unit of work costs about ten times more per row than COPY (see PERFORMANCE.md), so the
ingestion path allocates ids itself and streams rows. Everything runs inside the session's
transaction, so the request still commits or rolls back as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters


def allocate_ids(session: Session, table: sa.Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``, in increasing order."""
    return adapters.of(session).next_ids(session.connection(), table.name, count)


def insert_rows(
    session: Session, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, JSON columns as Python values), after
    anything the ORM still holds, in the same transaction."""
    session.flush()
    adapters.of(session).copy_rows(session.connection(), table, columns, rows)
