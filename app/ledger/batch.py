"""Writing many transactions in a few statements: issuance batches and expiry runs.

The rows go in through the backend's adapter (:mod:`app.adapters`): COPY on the session's own
connection on PostgreSQL (same transaction as everything else the caller did), executemany on
SQLite. Transaction ids are allocated up front so the entries and issuances can reference them
without a round trip per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from app import adapters
from app.ledger.models import Entry, Issuance, Transaction

TRANSACTION_COLUMNS = (
    "id",
    "kind",
    "idempotency_key",
    "fingerprint",
    "reference_type",
    "reference_id",
    "memo",
    "created_at",
)
ENTRY_COLUMNS = ("transaction_id", "account_id", "amount", "expires_at")
ISSUANCE_COLUMNS = (
    "reduction_id",
    "transaction_id",
    "participant_id",
    "methodology_code",
    "activity_date",
    "requested_points",
    "issued_points",
    "capped_points",
    "cap",
    "budget_points",
    "budget_action",
)

_TABLES = {
    Transaction.__tablename__: (Transaction.__table__, TRANSACTION_COLUMNS),
    Entry.__tablename__: (Entry.__table__, ENTRY_COLUMNS),
    Issuance.__tablename__: (Issuance.__table__, ISSUANCE_COLUMNS),
}


class BalanceWouldGoNegative(RuntimeError):
    """A batch tried to take a wallet below zero: a bug in the caller's arithmetic, not input."""


def allocate_transaction_ids(conn: sa.Connection, count: int) -> list[int]:
    """``count`` fresh transaction ids, ascending."""
    return adapters.of(conn).next_ids(conn, Transaction.__tablename__, count)


def insert_rows(conn: sa.Connection, table_name: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert tuples in the column order of ``table_name`` (see the *_COLUMNS above)."""
    table, columns = _TABLES[table_name]
    adapters.of(conn).copy_rows(conn, table, columns, rows)


def change_wallet_balances(conn: sa.Connection, deltas: Mapping[int, int]) -> None:
    """Add each delta to its wallet's stored balance (one statement on PostgreSQL).

    The caller holds the wallets' row locks or computed the deltas from locked balances; a
    balance that would still go negative is a bug, and the CHECK constraint would refuse it too.
    """
    changes = [(account_id, delta) for account_id, delta in sorted(deltas.items()) if delta]
    if not changes:
        return
    changed = adapters.of(conn).change_balances(conn, changes)
    if changed != len(changes):
        raise BalanceWouldGoNegative(f"{len(changes) - changed} wallet balance(s) not changed")


def id_list_filter(conn: sa.Connection, column: sa.ColumnElement[Any], ids: Iterable[int]) -> Any:
    """``column IN ids``, however many (one array parameter on PostgreSQL)."""
    return adapters.of(conn).any_of(column, ids)
