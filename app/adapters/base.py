"""What every backend adapter offers: the contract the services rely on.

Each operation runs on the caller's connection and transaction and commits nothing.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert

from app.sqltypes import UTCDateTime


class DebitRow(NamedTuple):
    """What a redemption debit found and wrote: any of them None when it did not happen."""

    wallet_id: int | None
    merchant_account_id: int | None
    transaction_id: int | None
    balance: int | None
    guard_passed: bool = True


@dataclass(frozen=True, eq=False)
class Guard:
    """What a redemption debit is conditional on, and the row it writes besides, as SQLAlchemy
    Core built by the caller from its own tables.

    ``condition`` is an ``UPDATE … RETURNING`` or a ``SELECT``: the debit is written only when it
    yields a row, and whatever it writes stands or falls with the debit. ``record`` is a table
    that gets one row of the values the caller passes, with the debit's transaction id in
    ``transaction_column``. Both take their bound parameters from the call. Build a guard once:
    the adapter compiles its statement once per guard.
    """

    condition: sa.Update | sa.Select[Any]
    record: sa.Table
    record_columns: tuple[str, ...]
    transaction_column: str


class Compiled:
    """A statement compiled once for a driver, with the parameter conversions it needs: run it
    with :meth:`execute` on the driver's connection (SQLAlchemy's execution layer would cost a
    third of a debit's CPU), or send ``sql`` with ``constants`` and the caller's parameters."""

    def __init__(self, statement: sa.Executable, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        #: The values the statement holds itself (its constants), under their compiled names.
        self.constants = {
            name: bind.value for bind, name in compiled.bind_names.items() if not bind.required
        }
        self.processors = [
            (name, processor)
            for bind, name in compiled.bind_names.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        ]

        columns = getattr(compiled, "_result_columns", None) or []
        #: The row type of :meth:`first`: the statement's column names, as SQLAlchemy keys them.
        self.row = namedtuple("Row", [column.keyname for column in columns], rename=True)  # type: ignore[misc]
        self.row_processors = [
            (position, processor)
            for position, column in enumerate(columns)
            if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))
        ]

    def execute(self, conn: sa.Connection, params: Mapping[str, Any]) -> Any:
        """The first row as the driver returns it (a tuple), or None."""
        values = {**self.constants, **params}
        for name, processor in self.processors:
            values[name] = processor(values[name])
        driver: Any = conn.connection.driver_connection
        return driver.execute(self.sql, values).fetchone()

    def first(self, conn: sa.Connection, params: Mapping[str, Any]) -> Any:
        """The first row with its values converted as SQLAlchemy would, named by its columns."""
        row = self.execute(conn, params)
        if row is None:
            return None
        if self.row_processors:
            row = list(row)
            for position, processor in self.row_processors:
                row[position] = processor(row[position])
        return self.row(*row)


class Adapter:
    """The operations whose SQL differs between backends (see the two subclasses)."""

    name: str
    #: Whether the engine keeps a pool of connections to a server, which the pool settings
    #: (``DATABASE_POOL_SIZE`` …) size; SQLite opens a file in-process.
    pools_connections: bool = True
    #: Whether a read transaction must end before the request writes (SQLite: a transaction that
    #: read before it writes cannot take the write lock once another writer has committed;
    #: PostgreSQL: reads run in autocommit, and writes belong in a transaction).
    reads_apart: bool = False

    # -- connections ----------------------------------------------------------------------------

    def configure(self, engine: Engine, *, random_page_cost: str | None) -> None:
        """Per-connection settings of the platform's engines."""
        raise NotImplementedError

    def connect_args(self, *, prepared_statements: bool) -> dict[str, Any]:
        """The driver's connection arguments; ``prepared_statements=False`` for a server reached
        through a pooler that cannot keep them (``DATABASE_PREPARED_STATEMENTS``)."""
        return {}

    def analyze(self, connection: sa.Connection) -> None:
        """Refresh the planner's statistics (after a migration), where the backend keeps any."""

    def without_jit(self, connection: sa.Connection) -> None:
        """Plan the rest of the transaction without JIT compilation, where the backend has it."""

    def queue_behind(self, connection: sa.Connection, key: int) -> None:
        """Wait for other transactions holding the lock ``key`` (with the schema), until commit.

        Where one writer runs at a time anyway, there is nothing to wait for.
        """

    def share_locks(self, connection: sa.Connection, keys: Sequence[int]) -> None:
        """Hold the locks ``keys`` (with the schema) shared, until commit: others sharing them go
        on, while one queued behind any of them (:meth:`queue_behind`) waits for every holder.

        Where one writer runs at a time anyway, there is nothing to wait for.
        """

    # -- statements and expressions -------------------------------------------------------------

    def insert(self, table: Any) -> Insert:
        """An INSERT that can be made ``on_conflict_do_nothing``."""
        raise NotImplementedError

    def any_of(
        self, column: sa.ColumnElement[Any], values: Iterable[Any]
    ) -> sa.ColumnElement[bool]:
        """``column IN values``, however many values."""
        raise NotImplementedError

    def aware_timestamps(self, column: Any) -> Any:
        """A timestamp column read as aware datetimes without per-row conversion if possible."""
        return column

    def utc_iso_text(self, column: Any) -> Any:
        """The instant as ISO 8601 in UTC with microseconds, formatted by the database itself."""
        raise NotImplementedError

    def local_date(self, column: Any, zone: ZoneInfo) -> Any:
        """The calendar date (ISO text) on which the instant ``column`` falls in ``zone``, worked
        out by the database, so rows can be grouped by the city's days in one statement."""
        raise NotImplementedError

    # -- bulk writes ----------------------------------------------------------------------------

    def next_ids(self, conn: sa.Connection, table_name: str, count: int) -> list[int]:
        """``count`` fresh primary keys for ``table_name``, ascending."""
        raise NotImplementedError

    def copy_rows(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert ``rows`` (tuples in ``columns`` order, JSON columns as Python values)."""
        raise NotImplementedError

    def first(
        self, conn: sa.Connection, statement: sa.Select[Any], params: Mapping[str, Any]
    ) -> Any:
        """The first row of a hot path's ``statement`` (built once) by attribute, or None.

        The same values as ``conn.execute(statement, params).first()``; a backend may run it
        below SQLAlchemy's execution layer, so no execution events fire for it.
        """
        return conn.execute(statement, params).first()

    def update_then_select(
        self,
        conn: sa.Connection,
        update: sa.Update,
        view: Callable[[sa.FromClause], sa.Select[Any]],
        params: Mapping[str, Any],
    ) -> sa.Row[Any] | None:
        """Run ``update`` (an ``UPDATE … RETURNING`` of one row) and then ``view(updated)``, a
        SELECT that reads what it needs of the row the update returned (``updated``): the
        view's row, or None when nothing was updated. Build ``update`` and ``view`` once."""
        raise NotImplementedError

    # -- the ledger's writes --------------------------------------------------------------------

    def open_wallets(self, conn: sa.Connection, holder_ids: list[int], now: datetime) -> None:
        """Open a wallet for each holder that has none, in one statement (concurrency-safe)."""
        raise NotImplementedError

    def change_balances(self, conn: sa.Connection, changes: Sequence[tuple[int, int]]) -> int:
        """Add each ``(wallet account id, delta)``'s delta to the wallet's balance where it does
        not go below zero: how many wallets changed."""
        raise NotImplementedError

    def debit(
        self,
        conn: sa.Connection,
        params: dict[str, Any],
        guard: Guard | None = None,
        record: Mapping[str, Any] | None = None,
    ) -> DebitRow:
        """The redemption debit: a ``redeem`` transaction taking ``points`` from the wallet of
        ``holder_id`` into the clearing account of ``merchant_id``, its two entries, and the
        wallet's balance lowered if it covers the points (written last: the wallet's row lock is
        then held for the shortest time). Nothing is written when an account is missing or the
        key (``key``) was used before, nor when the ``guard`` yields no row; with a guard,
        ``record`` are the values of its row. ``params`` also holds ``fingerprint``,
        ``reference_type``, ``reference_id``, ``memo`` and ``now``, and the guard's own."""
        raise NotImplementedError

    def reserve_budget(
        self,
        conn: sa.Connection,
        *,
        month: date,
        requested: int,
        defer: bool,
        warn_percent: int,
        now: datetime,
    ) -> tuple[int, int, int] | None:
        """Charge up to ``requested`` points to ``month``'s budget, holding its row lock: the
        budget, the points charged before and the points granted (None: the month has no
        budget). The room is the budget less what is charged and less what earlier months still
        owe; the rest is counted as deferred (``defer``) or scaled away. Sets ``warned_at`` when
        the charged points reach ``warn_percent`` of the budget, ``reached_at`` when a grant
        falls short. Where one writer runs at a time, a read and an update do it."""
        from app.ledger.models import BudgetMonth

        months = BudgetMonth.__table__
        owed = (
            sa.select(
                sa.func.coalesce(
                    sa.func.sum(months.c.deferred_points - months.c.passed_on_points), 0
                )
            )
            .where(months.c.month < month)
            .scalar_subquery()
        )
        instant = sa.literal(now, UTCDateTime())
        row = conn.execute(
            sa.select(months.c.budget_points, months.c.issued_points, owed)
            .where(months.c.month == month)
            .with_for_update()
        ).first()
        if row is None:
            return None
        budget, before, owing = (int(value) for value in row)
        granted = min(requested, max(budget - before - owing, 0))
        short = requested - granted
        values: dict[str, Any] = {
            "issued_points": before + granted,
            "deferred_points": months.c.deferred_points + (short if defer else 0),
            "scaled_points": months.c.scaled_points + (0 if defer else short),
        }
        if (before + granted) * 100 >= budget * warn_percent:
            values["warned_at"] = sa.func.coalesce(months.c.warned_at, instant)
        if short:
            values["reached_at"] = sa.func.coalesce(months.c.reached_at, instant)
        conn.execute(months.update().where(months.c.month == month).values(**values))
        return budget, before, granted
