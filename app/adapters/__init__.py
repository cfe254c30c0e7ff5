"""Backend adapters: everything that differs between PostgreSQL and SQLite, below the services.

One adapter per backend (:mod:`app.adapters.postgresql`, :mod:`app.adapters.sqlite`) offers the
same operations: the per-connection settings, the bulk writes (fresh ids, binary COPY), ``IN``
over many values, the ledger's debit and balance changes, and the few expressions the backends
spell differently. Services ask :func:`of` for the adapter of their session or connection and
never look at the backend themselves (a test fails if they do); the adapter is chosen once per
engine, when :func:`make_engine` creates it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from app.adapters.base import Adapter

#: The planner's cost of reading a random page, on the platform's PostgreSQL sessions. The
#: server's default (4: four sequential reads) is made for spinning disks; with the working set
#: in memory or on SSD it makes the planner hash every wallet to update the few thousand of one
#: issuance batch, three times slower than probing their primary keys at 100,000 wallets and
#: worse as wallets grow. ``DATABASE_RANDOM_PAGE_COST`` overrides it; empty keeps the server's.
RANDOM_PAGE_COST = "1.1"

_chosen: weakref.WeakKeyDictionary[sa.Dialect, Adapter] = weakref.WeakKeyDictionary()

#: Whether the transactions begun now only read (a GET request): on SQLite they begin without the
#: write lock, so they answer while a writer holds it, and everything else (changes, jobs,
#: commands) takes the lock when it begins (see :mod:`app.adapters.sqlite`); on PostgreSQL they
#: run in autocommit, without BEGIN and COMMIT (see :mod:`app.adapters.postgresql`).
_reading: ContextVar[bool] = ContextVar("tanpuhui_reading", default=False)


def reading() -> bool:
    return _reading.get()


def set_reading(value: bool) -> None:
    _reading.set(value)


@contextmanager
def only_reading() -> Iterator[None]:
    """Transactions begun in this block only read."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def make_engine(
    url: str, *, random_page_cost: str | None = RANDOM_PAGE_COST, **options: Any
) -> Engine:
    """Create an engine, choose its backend's adapter and apply the settings each backend needs.

    A backend without an adapter is refused here, at start-up.
    """
    engine = sa.create_engine(url, **options)
    _choose(engine.dialect).configure(engine, random_page_cost=random_page_cost)
    return engine


def of(bind: Session | sa.Connection | Engine) -> Adapter:
    """The adapter of a session's, connection's or engine's backend."""
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect
    try:
        return _chosen[dialect]
    except KeyError:  # an engine that make_engine did not create
        return _choose(dialect)


def for_url(url: str) -> Adapter:
    """The adapter of the backend a database URL names (for settings made before any engine)."""
    return _for_backend(sa.engine.make_url(url).get_backend_name())


def _choose(dialect: sa.Dialect) -> Adapter:
    adapter = _chosen[dialect] = _for_backend(dialect.name)
    return adapter


def _for_backend(name: str) -> Adapter:
    if name == "postgresql":
        from app.adapters.postgresql import PostgreSQL

        return PostgreSQL()
    if name == "sqlite":
        from app.adapters.sqlite import SQLite

        return SQLite()
    raise RuntimeError(f"no adapter for the {name} backend (PostgreSQL or SQLite)")
