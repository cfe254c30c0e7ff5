"""SQLite: one writer at a time, so a write path is a few plain statements in a row.

Transactions that may write begin IMMEDIATE (the SQLite half of the ledger's locking protocol): two
transactions never both read a balance and then fail to upgrade their locks, the second simply
waits. Transactions that only read (GET requests, :func:`app.adapters.only_reading`) begin
DEFERRED: in WAL mode they read the last committed state while a writer holds the lock, so
``/healthz`` and pages answer during a long partner batch. Either way, what PostgreSQL does in
one statement under row locks, SQLite does step by step, and the ids after the
current maximum are the caller's until it commits. It runs in-process: executemany is as fast as
anything else it has.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert

from app.adapters import reading
from app.adapters.base import Adapter, DebitRow, Guard
from app.sqltypes import UTCDateTime

#: The debit's statements, in order (see :meth:`SQLite.debit`), the balance's last.
FIND_ACCOUNTS = sa.text(
    "SELECT (SELECT id FROM ledger_accounts WHERE holder_id = :holder_id), "
    "(SELECT id FROM ledger_accounts WHERE merchant_id = :merchant_id)"
)
INSERT_TRANSACTION = sa.text(
    "INSERT INTO ledger_transactions "
    "(kind, idempotency_key, fingerprint, reference_type, reference_id, memo, created_at) "
    "VALUES ('redeem', :key, :fingerprint, :reference_type, :reference_id, :memo, :now) "
    "ON CONFLICT DO NOTHING RETURNING id"
).bindparams(sa.bindparam("now", type_=UTCDateTime))
INSERT_ENTRIES = sa.text(
    "INSERT INTO ledger_entries (transaction_id, account_id, amount) "
    "VALUES (:transaction_id, :wallet_id, -:points), "
    "(:transaction_id, :merchant_account_id, :points)"
)


def _debit_balance() -> sa.Update:
    from app.ledger.models import Account, change_balance

    points = sa.bindparam("points", type_=sa.BigInteger)
    return change_balance(sa.bindparam("wallet_id"), -points).returning(Account.__table__.c.balance)


DEBIT = _debit_balance()


_WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})


def _local_date(stored: str | None, zone: str) -> str | None:
    """SQLite has no time zones: the date of a stored UTC instant in ``zone``, by Python's."""
    if stored is None:
        return None
    instant = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(zone)).date().isoformat()


class ReadingRequestWrites(RuntimeWarning):
    """A request that began its transaction without the write lock wrote (tests fail on it)."""


class SQLite(Adapter):
    name = "sqlite"
    pools_connections = False
    reads_apart = True

    def __init__(self) -> None:
        self._bind_names: dict[sa.Executable, frozenset[str]] = {}

    def _run(self, conn: sa.Connection, statement: Any, params: Mapping[str, Any]) -> Any:
        """Execute ``statement`` with only its own parameters of ``params``: to an UPDATE,
        SQLAlchemy would add any other parameter that names a column to what it sets."""
        names = self._bind_names.get(statement)
        if names is None:
            names = frozenset(statement.compile(dialect=conn.dialect).params)
            self._bind_names[statement] = names
        return conn.execute(statement, {k: v for k, v in params.items() if k in names})

    def configure(self, engine: Engine, *, random_page_cost: str | None) -> None:
        """Foreign keys on, WAL, and write transactions that take the lock up front; reads don't."""

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself (savepoints work).
            dbapi_connection.isolation_level = None
            dbapi_connection.create_function(
                "tanpuhui_local_date", 2, _local_date, deterministic=True
            )
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN DEFERRED" if reading() else "BEGIN IMMEDIATE")

        @event.listens_for(engine, "before_cursor_execute")
        def _on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if reading() and statement.lstrip()[:6].upper() in _WRITES:
                warnings.warn(
                    "a read-only (GET) request writes: call db.writing() first, or under load "
                    "the write fails once another writer commits",
                    ReadingRequestWrites,
                    stacklevel=2,
                )

    def insert(self, table: Any) -> Insert:
        return sqlite.insert(table)

    def any_of(
        self, column: sa.ColumnElement[Any], values: Iterable[Any]
    ) -> sa.ColumnElement[bool]:
        return column.in_(list(values))

    def utc_iso_text(self, column: Any) -> Any:
        # SQLite keeps UTC instants as "YYYY-MM-DD HH:MM:SS.ffffff".
        return sa.func.replace(sa.cast(column, sa.Text), " ", "T") + "+00:00"

    def local_date(self, column: Any, zone: ZoneInfo) -> Any:
        return sa.func.tanpuhui_local_date(column, zone.key)

    def next_ids(self, conn: sa.Connection, table_name: str, count: int) -> list[int]:
        if count == 0:
            return []
        table = sa.table(table_name, sa.column("id"))
        start = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) + 1
        return list(range(start, start + count))

    def copy_rows(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        if rows:
            conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])

    def update_then_select(
        self,
        conn: sa.Connection,
        update: sa.Update,
        view: Callable[[sa.FromClause], sa.Select[Any]],
        params: Mapping[str, Any],
    ) -> sa.Row[Any] | None:
        """Two statements: SQLite's RETURNING names only the updated table, and no CTE may
        write."""
        updated = self._run(conn, update, params).first()
        if updated is None:
            return None
        returned = sa.select(
            *(sa.literal(value).label(name) for name, value in updated._mapping.items())
        ).subquery("updated")
        return conn.execute(view(returned), params).first()

    def open_wallets(self, conn: sa.Connection, holder_ids: list[int], now: datetime) -> None:
        from app.ledger.models import Account, AccountType

        if not holder_ids:
            return
        conn.execute(
            sqlite.insert(Account.__table__).on_conflict_do_nothing(index_elements=["holder_id"]),
            [
                {"type": AccountType.WALLET, "holder_id": h, "balance": 0, "created_at": now}
                for h in holder_ids
            ],
        )

    def change_balances(self, conn: sa.Connection, changes: Sequence[tuple[int, int]]) -> int:
        from app.ledger.models import Account, AccountType, change_balance

        delta = sa.bindparam("delta", type_=sa.BigInteger)
        statement = change_balance(sa.bindparam("account_id"), delta).where(
            Account.__table__.c.type == AccountType.WALLET
        )
        return conn.execute(
            statement,
            [{"account_id": account_id, "delta": delta} for account_id, delta in changes],
        ).rowcount

    def debit(
        self,
        conn: sa.Connection,
        params: dict[str, Any],
        guard: Guard | None = None,
        record: Mapping[str, Any] | None = None,
    ) -> DebitRow:
        """The accounts, the guard, the transaction, its entries, the balance, the record."""
        wallet, merchant_account = conn.execute(FIND_ACCOUNTS, params).one()
        if wallet is None or merchant_account is None:
            return DebitRow(wallet, merchant_account, None, None)
        if guard is not None and self._run(conn, guard.condition, params).first() is None:
            return DebitRow(wallet, merchant_account, None, None, guard_passed=False)
        transaction_id = conn.execute(INSERT_TRANSACTION, params).scalar()
        if transaction_id is None:
            return DebitRow(wallet, merchant_account, None, None)
        ids = {"transaction_id": transaction_id, "wallet_id": wallet}
        conn.execute(INSERT_ENTRIES, {**params, **ids, "merchant_account_id": merchant_account})
        balance = conn.execute(DEBIT, {"points": params["points"], "wallet_id": wallet}).scalar()
        if guard is not None and balance is not None:
            conn.execute(
                guard.record.insert(),
                {**(record or {}), guard.transaction_column: transaction_id},
            )
        return DebitRow(wallet, merchant_account, transaction_id, balance)
