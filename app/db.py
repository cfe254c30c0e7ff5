"""Database layer: declarative base, column types, and one session per request, command or job.

Services receive a session and only ``flush()``; the edge that opened the session (a request, a CLI
command, a scheduled job) commits once or rolls back, so a debit and what it pays for never
half-happen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, ClassVar

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker

from app import adapters, clock
from app.adapters import RANDOM_PAGE_COST, make_engine, reading, set_reading
from app.sqltypes import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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
        app.before_request(_mark_reading)
        app.teardown_request(_end_reading)
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

    def writing(self) -> None:
        """This request writes from here on, though it is a GET (a refusal it records, a QR code
        it issues): its read transaction ends (nothing was written) and the next one is a
        writing one: on SQLite it takes the write lock when it begins, so the write cannot fail
        on a stale snapshot; on PostgreSQL it is a transaction again, not autocommit."""
        if not reading():
            return
        set_reading(False)
        session = g.get("_db_session")
        if session is not None and adapters.of(session).reads_apart and session.in_transaction():
            session.rollback()

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


#: Requests that only read: their transactions do not take SQLite's write lock. A GET that
#: writes (a refusal it records, a QR code it issues) calls :meth:`Database.writing` first.
_READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _mark_reading() -> None:
    set_reading(request.method in _READING_METHODS)


def _end_reading(_exc: BaseException | None) -> None:
    set_reading(False)


class _State:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.factory = sessionmaker(bind=engine, expire_on_commit=False)

    def new_session(self) -> Session:
        return self.factory()


db = Database()
