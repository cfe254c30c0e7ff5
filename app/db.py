"""Database layer: declarative base, column types, and one session per request, command or job.

Services receive a session and only ``flush()``; the edge that opened the session (a request, a CLI
command, a scheduled job) commits once or rolls back, so a debit and what it pays for never
half-happen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker

from app import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zones and hands back naive values; this type stores UTC and always returns
    aware datetimes, so comparisons never mix naive and aware instants.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC instant")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for ledgers that grow.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

intpk = Annotated[int, mapped_column(BigId, primary_key=True)]
created_at = Annotated[
    datetime,
    mapped_column(UTCDateTime, default=clock.now, comment="When the row was created (UTC)"),
]


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: sa.JSON}


def str_enum(enum_cls: type, name: str) -> sa.Enum:
    """A string column limited to an enum's values by a CHECK constraint (portable)."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


#: The planner's cost of reading a random page, on the platform's PostgreSQL sessions. The
#: server's default (4: four sequential reads) is made for spinning disks; with the working set
#: in memory or on SSD it makes the planner hash every wallet to update the few thousand of one
#: issuance batch, three times slower than probing their primary keys at 100,000 wallets and
#: worse as wallets grow. ``DATABASE_RANDOM_PAGE_COST`` overrides it; empty keeps the server's.
RANDOM_PAGE_COST = "1.1"


def make_engine(
    url: str, *, random_page_cost: str | None = RANDOM_PAGE_COST, **options: Any
) -> Engine:
    """Create an engine with the settings each backend needs."""
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif random_page_cost is not None:
        _configure_postgresql(engine, random_page_cost)
    return engine


def _configure_postgresql(engine: Engine, random_page_cost: str) -> None:
    """Planner costs for the platform's sessions, set once per new connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET outside any transaction lasts the session
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT set_config('random_page_cost', %s, false)", (random_page_cost,))
        dbapi_connection.autocommit = autocommit


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, and write transactions that take the lock up front.

    ``BEGIN IMMEDIATE`` makes each transaction a writer from its first statement, so two
    transactions never both read a balance and then fail to upgrade their locks: the second simply
    waits (busy_timeout) for the first to commit. This is the SQLite half of the ledger's locking
    protocol; PostgreSQL uses row locks and conditional updates instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = (
            None  # let SQLAlchemy emit BEGIN itself (savepoints work)
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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def next_ids(conn: sa.Connection, table_name: str, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table_name``, ascending: what bulk writes number rows by.

    PostgreSQL draws them from the table's sequence, looked up once in a materialized CTE (called
    per row, ``pg_get_serial_sequence`` costs ten times the ``nextval`` itself). SQLite
    transactions begin IMMEDIATE (one writer at a time), so the ids after the current maximum are
    the caller's until it commits.
    """
    if count == 0:
        return []
    if conn.dialect.name == "postgresql":
        ids = conn.execute(
            sa.text(
                "WITH s AS MATERIALIZED "
                "(SELECT CAST(pg_get_serial_sequence(:table, 'id') AS regclass) AS seq) "
                "SELECT array(SELECT nextval(s.seq) FROM s, generate_series(1, :n))"
            ),
            {"table": table_name, "n": count},
        ).scalar_one()
        return sorted(ids)
    table = sa.table(table_name, sa.column("id"))
    start = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) + 1
    return list(range(start, start + count))


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


def copy_rows(
    conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, JSON columns as Python values) in the
    connection's transaction: one binary COPY on PostgreSQL, one executemany elsewhere.

    Binary COPY spares formatting every value as text, which costs more than the COPY itself.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    json_positions = [
        position for position, name in enumerate(columns) if isinstance(table.c[name].type, sa.JSON)
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


class Database:
    """Flask extension holding the engine and handing out one session per application context."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        options: dict[str, Any] = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        engine = app.config.get("DATABASE_ENGINE") or make_engine(
            app.config["DATABASE_URL"],
            random_page_cost=app.config.get("DATABASE_RANDOM_PAGE_COST", RANDOM_PAGE_COST),
            **options,
        )
        app.extensions["tanpuhui.db"] = _State(engine)
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["tanpuhui.db"].engine

    @property
    def session(self) -> Session:
        """The session of the current application context, opened on first use."""
        session = g.get("_db_session")
        if session is None:
            session = current_app.extensions["tanpuhui.db"].new_session()
            g._db_session = session
        return session

    def bind_to_connection(self, app: Flask, connection: sa.Connection) -> None:
        """Run every session of ``app`` inside ``connection``'s open transaction.

        Used by tests: commits become savepoints and the outer transaction is rolled back after the
        test, so each test sees a clean database.
        """
        app.extensions["tanpuhui.db"].factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises.

        The edge for CLI commands and jobs; requests use :meth:`session` and the request hooks.
        """
        session = current_app.extensions["tanpuhui.db"].new_session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("_db_session", None)
        if session is not None:
            session.rollback()  # anything not committed at the edge is discarded
            session.close()


class _State:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.factory = sessionmaker(bind=engine, expire_on_commit=False)

    def new_session(self) -> Session:
        return self.factory()


db = Database()
