"""PostgreSQL: binary COPY, arrays for ``IN``, and writes that take one round trip.

Where one statement can do what SQLite needs several for (a debit with what guards it, an
update and the rows it leads to), it does: data-modifying CTEs keep a write path to one round
trip. The ledger's debit goes to psycopg on the session's own connection and transaction:
SQLAlchemy's execution layer would cost a third of the debit's CPU, so its statement is compiled
once per guard and its parameters converted as SQLAlchemy would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert

from app.adapters import reading
from app.adapters.base import Adapter, Compiled, DebitRow, Guard
from app.sqltypes import UTCDateTime

#: PostgreSQL's binary COPY type of each column type the bulk writes use (JSON goes as its text).
_COPY_TYPES = {
    "BIGINT": "int8",
    "INTEGER": "int4",
    "SMALLINT": "int2",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "VARCHAR": "text",
    "TEXT": "text",
    "JSON": "text",
}


def copy_types(table: sa.Table, columns: Sequence[str], dialect: sa.Dialect) -> list[str]:
    """The binary COPY types of ``columns`` of ``table``, from their SQLAlchemy types."""
    types = []
    for name in columns:
        compiled = table.c[name].type.compile(dialect=dialect).split("(")[0]
        if compiled not in _COPY_TYPES:
            raise TypeError(f"{table.name}.{name}: no binary COPY type for {compiled}")
        types.append(_COPY_TYPES[compiled])
    return types


def bigint_array(values: Iterable[int]) -> str:
    """Whole numbers as an array literal, to pass as ``CAST(:p AS bigint[])``.

    One string is far cheaper to send than a list the driver adapts element by element, which
    costs more than the rest of an issuance batch's Python work.
    """
    return "{" + ",".join(map(str, values)) + "}"


def _reads_without_a_transaction(engine: Engine) -> None:
    """Transactions that only read (GET requests) run in autocommit: no BEGIN and no COMMIT.

    Under READ COMMITTED every statement takes its own snapshot anyway, so a read sees what it
    would have seen in a transaction, for two round trips less (through PgBouncer, each costs
    the app, the pooler and the server). A request that goes on to write ends its reading
    transaction first (:meth:`app.db.Database.writing`); the connection goes back to the pool
    and leaves it in a transaction again. A streamed query (``yield_per``) needs its server-side
    cursor inside a transaction, so it opens one.
    """

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if reading():
            connection.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(
        _conn: Any, cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is not None and context.execution_options.get("stream_results"):
            dbapi_connection = cursor.connection
            if dbapi_connection.autocommit:
                dbapi_connection.autocommit = False

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None and dbapi_connection.autocommit:
            dbapi_connection.autocommit = False


class PostgreSQL(Adapter):
    name = "postgresql"

    def __init__(self) -> None:
        self._debits: dict[Guard | None, Compiled] = {}
        self._updates: dict[tuple[sa.Update, Callable[..., Any]], sa.Select[Any]] = {}
        self._compiled: dict[sa.Select[Any], Compiled] = {}

    # -- connections ----------------------------------------------------------------------------

    reads_apart = True  # a reading transaction runs without one: it ends before the writes

    def configure(self, engine: Engine, *, random_page_cost: str | None) -> None:
        """Reads without a transaction, and planner costs set once per new connection."""
        _reads_without_a_transaction(engine)
        if random_page_cost is None:
            return

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True  # a SET outside any transaction lasts the session
            with dbapi_connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('random_page_cost', %s, false)", (random_page_cost,)
                )
            dbapi_connection.autocommit = autocommit

    def connect_args(self, *, prepared_statements: bool) -> dict[str, Any]:
        """psycopg prepares a statement on the server once it ran five times on a connection;
        behind PgBouncer in transaction mode (before 1.21) the next transaction may run on
        another server connection, where that statement does not exist. ``prepare_threshold``
        None never prepares, for the SQLAlchemy statements and :class:`Compiled` alike (both go
        through psycopg's ``execute`` on the same connection)."""
        return {} if prepared_statements else {"prepare_threshold": None}

    def analyze(self, connection: sa.Connection) -> None:
        # Fresh statistics, so the planner does not keep plans made for empty tables.
        connection.execute(sa.text("ANALYZE"))

    def without_jit(self, connection: sa.Connection) -> None:
        connection.exec_driver_sql("SET LOCAL jit = off")

    def queue_behind(self, connection: sa.Connection, key: int) -> None:
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
            {"key": key},
        )

    def share_locks(self, connection: sa.Connection, keys: Sequence[int]) -> None:
        # In key order, so that two transactions sharing some of them never wait for each other.
        connection.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock_shared(key, hashtext(current_schema()))"
                " FROM unnest(CAST(:keys AS integer[])) AS key ORDER BY key"
            ),
            {"keys": sorted(set(keys))},
        )

    # -- statements and expressions -------------------------------------------------------------

    def insert(self, table: Any) -> Insert:
        return postgresql.insert(table)

    def any_of(
        self, column: sa.ColumnElement[Any], values: Iterable[Any]
    ) -> sa.ColumnElement[bool]:
        """One array parameter instead of thousands; whole numbers go as one array literal.

        The literal is bound untyped, so PostgreSQL reads it as ``bigint[]`` once, when the
        statement is bound. Bound as text (``CAST($1::varchar AS bigint[])``) it would be parsed
        again for every row a sequential scan filters: 5,000 ids against 5,000 rows took seconds.
        """
        if isinstance(column.type, sa.Integer):
            literal = sa.bindparam(None, bigint_array(values), type_=sa.types.NullType())
            return column == sa.any_(sa.cast(literal, ARRAY(sa.BigInteger)))
        element_type = column.type if not isinstance(column.type, sa.Enum) else sa.String()
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(element_type)))

    def aware_timestamps(self, column: Any) -> Any:
        # psycopg returns aware datetimes already: no conversion per row.
        return sa.type_coerce(column, sa.DateTime(timezone=True))

    def utc_iso_text(self, column: Any) -> Any:
        return sa.func.to_char(
            sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'
        )

    def local_date(self, column: Any, zone: ZoneInfo) -> Any:
        return sa.func.to_char(sa.func.timezone(zone.key, column), "YYYY-MM-DD")

    # -- bulk writes ----------------------------------------------------------------------------

    def next_ids(self, conn: sa.Connection, table_name: str, count: int) -> list[int]:
        """Drawn from the table's sequence, looked up once in a materialized CTE (called per row,
        ``pg_get_serial_sequence`` costs ten times the ``nextval`` itself)."""
        if count == 0:
            return []
        ids = conn.execute(
            sa.text(
                "WITH s AS MATERIALIZED "
                "(SELECT CAST(pg_get_serial_sequence(:table, 'id') AS regclass) AS seq) "
                "SELECT array(SELECT nextval(s.seq) FROM s, generate_series(1, :n))"
            ),
            {"table": table_name, "n": count},
        ).scalar_one()
        return sorted(ids)

    def copy_rows(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """One binary COPY: it spares formatting every value as text, which costs more than the
        COPY itself."""
        if not rows:
            return
        json_positions = [
            position
            for position, name in enumerate(columns)
            if isinstance(table.c[name].type, sa.JSON)
        ]
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            copy.set_types(copy_types(table, columns, conn.dialect))
            write = copy.write_row
            if not json_positions:
                for row in rows:
                    write(row)
                return
            dumps = json.dumps
            for row in rows:
                values = list(row)
                for position in json_positions:
                    value = values[position]
                    if value is not None:  # SQL NULL stays NULL, as the ORM writes it
                        values[position] = dumps(value, ensure_ascii=False)
                write(values)

    def update_then_select(
        self,
        conn: sa.Connection,
        update: sa.Update,
        view: Callable[[sa.FromClause], sa.Select[Any]],
        params: Mapping[str, Any],
    ) -> sa.Row[Any] | None:
        """One statement: the update as a CTE the view reads from."""
        statement = self._updates.get((update, view))
        if statement is None:
            statement = self._updates[update, view] = view(update.cte("updated"))
        return self.first(conn, statement, params)

    def first(
        self, conn: sa.Connection, statement: sa.Select[Any], params: Mapping[str, Any]
    ) -> Any:
        """Compiled once per statement and run on psycopg directly (see :class:`Compiled`)."""
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = Compiled(statement, conn.dialect)
        return compiled.first(conn, params)

    # -- the ledger's writes --------------------------------------------------------------------

    def open_wallets(self, conn: sa.Connection, holder_ids: list[int], now: datetime) -> None:
        if holder_ids:
            conn.execute(_OPEN_WALLETS, {"holders": bigint_array(holder_ids), "now": now})

    def change_balances(self, conn: sa.Connection, changes: Sequence[tuple[int, int]]) -> int:
        return conn.execute(
            _change_balances(),
            {
                "ids": bigint_array(c[0] for c in changes),
                "deltas": bigint_array(c[1] for c in changes),
            },
        ).rowcount

    def debit(
        self,
        conn: sa.Connection,
        params: dict[str, Any],
        guard: Guard | None = None,
        record: Mapping[str, Any] | None = None,
    ) -> DebitRow:
        """One round trip: the transaction and its entries first, the conditional balance update
        last, so the wallet's row lock is held for the rest of one statement and the commit."""
        compiled = self._debits.get(guard)
        if compiled is None:
            compiled = self._debits[guard] = compiled_debit(guard, conn.dialect)
        if record is not None:
            params = params | {f"record_{name}": value for name, value in record.items()}
        return DebitRow(*compiled.execute(conn, params))

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
        """One round trip: the month's row locked and read in a sub-select (after the lock, it
        reads the newest row), updated from it."""
        row = conn.execute(
            _RESERVE_BUDGET,
            {
                "month": month,
                "requested": requested,
                "defer": defer,
                "warn_percent": warn_percent,
                "now": now,
            },
        ).first()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


_RESERVE_BUDGET = sa.text(
    "UPDATE ledger_budget_months AS b SET "
    "issued_points = b.issued_points + g.granted, "
    "deferred_points = b.deferred_points "
    "+ CASE WHEN :defer THEN :requested - g.granted ELSE 0 END, "
    "scaled_points = b.scaled_points + CASE WHEN :defer THEN 0 ELSE :requested - g.granted END, "
    "warned_at = COALESCE(b.warned_at, CASE WHEN (b.issued_points + g.granted) * 100 "
    ">= b.budget_points * :warn_percent THEN CAST(:now AS timestamptz) END), "
    "reached_at = COALESCE(b.reached_at, "
    "CASE WHEN g.granted < :requested THEN CAST(:now AS timestamptz) END) "
    "FROM (SELECT month, issued_points AS before, LEAST(:requested, GREATEST(budget_points "
    "- issued_points - (SELECT COALESCE(SUM(deferred_points - passed_on_points), 0) "
    "FROM ledger_budget_months WHERE month < :month), 0)) AS granted "
    "FROM ledger_budget_months WHERE month = :month FOR UPDATE) AS g "
    "WHERE b.month = g.month "
    "RETURNING b.budget_points, g.before, g.granted"
).bindparams(
    sa.bindparam("now", type_=UTCDateTime),
    sa.bindparam("defer", type_=sa.Boolean),
    sa.bindparam("requested", type_=sa.BigInteger),
    sa.bindparam("month", type_=sa.Date),
)


_OPEN_WALLETS = sa.text(
    "INSERT INTO ledger_accounts (type, holder_id, balance, created_at) "
    "SELECT 'wallet', holder, 0, :now FROM unnest(CAST(:holders AS bigint[])) AS holder "
    "ON CONFLICT (holder_id) DO NOTHING"
).bindparams(sa.bindparam("now", type_=UTCDateTime))


_TRANSACTION_COLUMNS = [
    "kind", "idempotency_key", "fingerprint", "reference_type", "reference_id", "memo", "created_at"
]  # fmt: skip


@cache
def _change_balances() -> sa.Update:
    """Every wallet's change in one statement, from two arrays (ids, deltas)."""
    from app.ledger.models import Account, AccountType, change_balance

    arrays = (sa.cast(sa.bindparam(name), ARRAY(sa.BigInteger)) for name in ("ids", "deltas"))
    changes = sa.func.unnest(*arrays).table_valued("id", "delta").render_derived(name="v")
    return change_balance(changes.c.id, changes.c.delta).where(
        Account.__table__.c.type == AccountType.WALLET
    )


def compiled_debit(guard: Guard | None = None, dialect: sa.Dialect | None = None) -> Compiled:
    """:func:`debit_statement` compiled for psycopg: what :meth:`PostgreSQL.debit` sends."""
    return Compiled(debit_statement(guard), dialect or postgresql.psycopg.dialect())


def debit_statement(guard: Guard | None = None) -> sa.Select[Any]:
    """The debit (see :meth:`Adapter.debit`) as one statement, its guard and record included.

    The wallet ``w`` and the merchant's clearing account ``m`` are looked up first; the guard
    must also find ``m`` (when the account is missing, the ledger opens it and runs the debit
    again, and the guard's writes must not have happened in the first run). Its columns: the
    wallet's and the clearing account's ids, the transaction's id, the new balance, and with a
    guard whether it yielded a row.
    """
    from app.ledger.models import Account, Entry, Transaction, change_balance

    accounts, transactions, entries = Account.__table__, Transaction.__table__, Entry.__table__
    points = sa.cast(sa.bindparam("points"), sa.BigInteger)
    w = sa.select(accounts.c.id).where(accounts.c.holder_id == sa.bindparam("holder_id")).cte("w")
    m = (
        sa.select(accounts.c.id)
        .where(accounts.c.merchant_id == sa.bindparam("merchant_id"))
        .cte("m")
    )
    sources: list[sa.FromClause] = [w, m]
    if guard is not None:
        sources.append(guard.condition.where(sa.exists(sa.select(m.c.id))).cte("guard"))
    t = (
        postgresql.insert(transactions)
        .from_select(
            _TRANSACTION_COLUMNS,
            sa.select(
                sa.literal("redeem"),
                sa.cast(sa.bindparam("key"), sa.String),
                sa.cast(sa.bindparam("fingerprint"), sa.String),
                sa.cast(sa.bindparam("reference_type"), sa.String),
                sa.cast(sa.bindparam("reference_id"), sa.BigInteger),
                sa.cast(sa.bindparam("memo"), sa.String),
                sa.bindparam("now", type_=UTCDateTime),
            ).select_from(*sources),
        )
        .on_conflict_do_nothing()
        .returning(transactions.c.id)
        .cte("t")
    )
    e = entries.insert().from_select(
        ["transaction_id", "account_id", "amount"],
        sa.union_all(
            sa.select(t.c.id, w.c.id, -points).select_from(t, w),
            sa.select(t.c.id, m.c.id, points).select_from(t, m),
        ),
    )
    u = (
        change_balance(sa.select(w.c.id).scalar_subquery(), -points)
        .where(sa.exists(sa.select(t.c.id)))
        .returning(accounts.c.balance)
        .cte("u")
    )
    columns: list[Any] = [
        sa.select(w.c.id).scalar_subquery(),
        sa.select(m.c.id).scalar_subquery(),
        sa.select(t.c.id).scalar_subquery(),
        sa.select(u.c.balance).scalar_subquery(),
    ]
    statement = sa.select(*columns).add_cte(e.cte("e"))
    if guard is None:
        return statement
    table = guard.record
    values = (
        sa.cast(sa.bindparam(f"record_{name}", type_=table.c[name].type), table.c[name].type)
        for name in guard.record_columns
    )
    recorded = table.insert().from_select(
        [*guard.record_columns, guard.transaction_column], sa.select(*values, t.c.id)
    )
    return statement.add_columns(sa.exists(sa.select(sources[-1]))).add_cte(recorded.cte("r"))
