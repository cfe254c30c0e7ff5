"""Test fixtures: every database test runs on SQLite and, when it is reachable, on PostgreSQL.

PostgreSQL is found through ``TANPUHUI_TEST_POSTGRES_URL`` (the README's test command points it at
the local server). Each run migrates a schema of its own with Alembic (never ``create_all``), and
each test runs inside a transaction that is rolled back afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from flask import Flask
from flask.testing import FlaskClient

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("DATABASE_URL", "sqlite://")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from app import create_app
from app.cli import alembic_config
from app.db import db, make_engine

POSTGRES_URL_VARIABLE = "TANPUHUI_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


@dataclass
class TestDatabase:
    backend: str
    url: str
    engine: sa.Engine
    schema: str | None = None

    __test__ = False  # not a test class


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"PostgreSQL tests skipped: {POSTGRES_URL_VARIABLE} is not set")
    return url


def _migrate(engine: sa.Engine, url: str) -> None:
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def create_test_database(backend: str, tmp_path: Path, **engine_options: object) -> TestDatabase:
    """A migrated, empty database for ``backend`` (skips when PostgreSQL is not reachable)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / f'test-{uuid.uuid4().hex[:8]}.sqlite3'}"
        engine = make_engine(url, **engine_options)
        _migrate(engine, url)
        return TestDatabase(backend, url, engine)
    url = _postgres_url()
    schema = f"tanpuhui_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(url, poolclass=sa.pool.NullPool)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(
            f"PostgreSQL tests skipped: cannot connect to {POSTGRES_URL_VARIABLE} ({exc.orig})"
        )
    finally:
        admin.dispose()
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"}, **engine_options)
    _migrate(engine, url)
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
    return TestDatabase(backend, url, engine, schema)


def drop_test_database(database: TestDatabase) -> None:
    database.engine.dispose()
    if database.schema:
        admin = make_engine(database.url, poolclass=sa.pool.NullPool)
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{database.schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestDatabase]:
    test_database = create_test_database(request.param, tmp_path_factory.mktemp("db"))
    yield test_database
    drop_test_database(test_database)


@pytest.fixture
def backend(database: TestDatabase) -> str:
    return database.backend


def make_app(database: TestDatabase, **overrides: object) -> Flask:
    config = {
        "TESTING": True,
        "DATABASE_URL": database.url,
        "DATABASE_ENGINE": database.engine,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": "localhost",
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(database: TestDatabase) -> Iterator[Flask]:
    """The application with every session inside one rolled-back transaction."""
    connection = database.engine.connect()
    transaction = connection.begin()
    application = make_app(database)
    db.bind_to_connection(application, connection)
    try:
        yield application
    finally:
        transaction.rollback()
        connection.close()


@pytest.fixture
def session(app: Flask) -> Iterator[sa.orm.Session]:
    """The test's own session, inside the same outer transaction the app's requests use.

    No application context stays pushed, so each request made by the test client gets a fresh
    one (its own ``g``, its own session), as in production.
    """
    test_session = app.extensions["tanpuhui.db"].new_session()
    yield test_session
    test_session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip(
            "browser tests skipped: Debian's chromium is not installed (apt-get install chromium)"
        )
    return path


# --- reporting: how many tests ran on each backend -------------------------------------------

_per_backend: Counter[tuple[str, str]] = Counter()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    callspec = getattr(item, "callspec", None)
    backend_name = callspec.params.get("database") if callspec else None
    if backend_name and (
        report.when == "call" or (report.when == "setup" and report.outcome != "passed")
    ):
        _per_backend[(backend_name, report.outcome)] += 1
    return report


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    terminalreporter.section("tests per database backend")
    for backend_name in BACKENDS:
        counts = {
            outcome: _per_backend[(backend_name, outcome)]
            for outcome in ("passed", "failed", "skipped")
        }
        terminalreporter.write_line(
            f"{backend_name:<11} {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Concurrency tests run on PostgreSQL only, and the few about SQLite's own path on SQLite
    only; their variants on the other backend are not collected."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database") if callspec is not None else None
        other = {"sqlite": "postgres_only", "postgresql": "sqlite_only"}.get(backend)
        (drop if other and item.get_closest_marker(other) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _cheap_password_hashing() -> None:
    """Tests hash thousands of passwords: argon2's cheapest profile keeps them fast."""
    from argon2 import PasswordHasher, profiles

    from app.accounts import services

    services._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    services._DUMMY_HASH = services._hasher.hash("not-a-real-password")


_cheap_password_hashing()
