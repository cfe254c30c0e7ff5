"""Writing many transactions in a few statements: issuance batches and expiry runs.

PostgreSQL gets COPY on the session's own connection (same transaction as everything else the
caller did); SQLite gets executemany, which is already in-process. Transaction ids are allocated up
front so the entries and issuances can reference them without a round trip per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from app.db import copy_rows, next_ids
from app.ledger.models import Account, Entry, Issuance, Transaction

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
)

_TABLES = {
    Transaction.__tablename__: (Transaction.__table__, TRANSACTION_COLUMNS),
    Entry.__tablename__: (Entry.__table__, ENTRY_COLUMNS),
    Issuance.__tablename__: (Issuance.__table__, ISSUANCE_COLUMNS),
}


class BalanceWouldGoNegative(RuntimeError):
    """A batch tried to take a wallet below zero: a bug in the caller's arithmetic, not input."""


def is_postgresql(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def allocate_transaction_ids(conn: sa.Connection, count: int) -> list[int]:
    """``count`` fresh transaction ids, ascending."""
    return next_ids(conn, Transaction.__tablename__, count)


def insert_rows(conn: sa.Connection, table_name: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert tuples in the column order of ``table_name`` (see the *_COLUMNS above)."""
    table, columns = _TABLES[table_name]
    copy_rows(conn, table, columns, rows)


def change_wallet_balances(conn: sa.Connection, deltas: Mapping[int, int]) -> None:
    """Add each delta to its wallet's stored balance, in one statement on PostgreSQL.

    The caller holds the wallets' row locks or computed the deltas from locked balances; a
    balance that would still go negative is a bug, and the CHECK constraint would refuse it too.
    """
    changes = [(account_id, delta) for account_id, delta in sorted(deltas.items()) if delta]
    if not changes:
        return
    if is_postgresql(conn):
        changed = conn.execute(
            sa.text(
                "UPDATE ledger_accounts AS a SET balance = a.balance + v.delta "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:deltas AS bigint[])) AS v(id, delta) "
                "WHERE a.id = v.id AND a.type = 'wallet' AND a.balance + v.delta >= 0"
            ),
            {
                "ids": bigint_array(c[0] for c in changes),
                "deltas": bigint_array(c[1] for c in changes),
            },
        ).rowcount
    else:
        accounts = Account.__table__
        changed = conn.execute(
            accounts.update()
            .where(
                accounts.c.id == sa.bindparam("account_id"),
                accounts.c.type == "wallet",
                accounts.c.balance + sa.bindparam("delta") >= 0,
            )
            .values(balance=accounts.c.balance + sa.bindparam("delta")),
            [{"account_id": account_id, "delta": delta} for account_id, delta in changes],
        ).rowcount
    if changed != len(changes):
        raise BalanceWouldGoNegative(f"{len(changes) - changed} wallet balance(s) not changed")


def bigint_array(values: Iterable[int]) -> str:
    """Whole numbers as a PostgreSQL array literal, to pass as ``CAST(:p AS bigint[])``.

    One string is far cheaper to send than a list the driver adapts element by element, which
    costs more than the rest of an issuance batch's Python work.
    """
    return "{" + ",".join(map(str, values)) + "}"


def id_list_filter(conn: sa.Connection, column: sa.ColumnElement[Any], ids: Iterable[int]) -> Any:
    """``column IN ids``: one array parameter on PostgreSQL, expanding parameters on SQLite."""
    if is_postgresql(conn):
        array = sa.cast(sa.literal(bigint_array(ids), sa.Text), ARRAY(sa.BigInteger))
        return column == sa.any_(array)
    return column.in_(list(ids))
