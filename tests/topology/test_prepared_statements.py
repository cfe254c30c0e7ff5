"""DATABASE_PREPARED_STATEMENTS=false: what PgBouncer in transaction mode (1.18) requires.

psycopg prepares a statement on the server after it ran five times on one connection; behind a
transaction pooler the next transaction may run on another server connection, where that
statement does not exist. With the setting off, neither SQLAlchemy's statements nor the hot
paths that call psycopg directly (``Compiled``) ever prepare one.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import adapters
from app.adapters.base import Compiled
from app.config import from_environment


def test_the_setting_defaults_to_prepared_statements(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS", raising=False)
    assert "connect_args" not in from_environment(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"]
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "true")
    assert "connect_args" not in from_environment(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"]


def test_off_tells_psycopg_never_to_prepare(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    options = from_environment(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == {"prepare_threshold": None}
    assert options["pool_size"] == 5  # the other settings are untouched


def test_sqlite_has_no_server_side_statements_to_turn_off(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    assert from_environment(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"] == {}


def prepared_after_many_runs(url: str, **connect_args: object) -> int:
    """Run an ORM-layer statement and a ``Compiled`` one ten times each on one connection;
    how many statements the server then holds prepared for that connection."""
    engine = adapters.make_engine(url, poolclass=sa.pool.NullPool, connect_args=connect_args)
    compiled = Compiled(sa.select(sa.literal(1, sa.Integer) + sa.bindparam("n")), engine.dialect)
    try:
        with engine.connect() as connection:
            for n in range(10):
                connection.execute(sa.select(sa.func.abs(sa.bindparam("n"))), {"n": n})
                assert compiled.first(connection, {"n": n})[0] == n + 1
            return connection.execute(
                sa.text("SELECT count(*) FROM pg_prepared_statements")
            ).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_no_statement_is_prepared_when_off(database):
    off = adapters.for_url(database.url).connect_args(prepared_statements=False)
    assert prepared_after_many_runs(database.url, **off) == 0
    # The control: by default psycopg prepares both, which a transaction pooler would break.
    assert prepared_after_many_runs(database.url) >= 2
