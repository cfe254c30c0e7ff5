"""On PostgreSQL, a request that only reads runs without a transaction (no BEGIN, no COMMIT):
under READ COMMITTED each statement has its own snapshot either way. A request that writes,
and a read that streams through a server-side cursor, still run in one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event

from app.accounts.models import ApiToken, User
from app.adapters import only_reading
from app.db import db
from tests.conftest import TestDatabase, create_test_database, drop_test_database, make_app
from tests.factories import make_user
from tests.merchants.support import api_headers

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[TestDatabase]:
    database = create_test_database("postgresql", tmp_path)
    yield database
    drop_test_database(database)


@pytest.fixture
def statements(own_database: TestDatabase) -> Iterator[list[tuple[str, bool]]]:
    """Each statement sent, with whether its connection was in autocommit."""
    seen: list[tuple[str, bool]] = []

    def record(_conn, cursor, statement, _params, _context, _many) -> None:
        seen.append((statement.split()[0].upper(), cursor.connection.autocommit))

    event.listen(own_database.engine, "before_cursor_execute", record)
    yield seen
    event.remove(own_database.engine, "before_cursor_execute", record)


def _resident(app: Flask) -> User:
    with app.app_context():
        resident = make_user(db.session)
        db.session.commit()
        return resident


def test_a_get_reads_in_autocommit_and_its_last_use_note_commits_in_a_transaction(
    own_database: TestDatabase, statements: list[tuple[str, bool]]
):
    app = make_app(own_database)
    resident = _resident(app)
    client = app.test_client()
    headers = api_headers(client, resident)  # a POST: its statements ran in a transaction
    assert statements and all(not autocommit for _verb, autocommit in statements)
    statements.clear()

    response = client.get("/api/v1/wallet", headers=headers)

    assert response.status_code == 200 and response.get_json()["balance"] == 0
    reads = [autocommit for verb, autocommit in statements if verb in ("SELECT", "WITH")]
    writes = [autocommit for verb, autocommit in statements if verb == "UPDATE"]
    assert reads and all(reads)  # the reads: no BEGIN, no COMMIT
    assert writes == [False]  # the token's first use, noted in a transaction of its own
    with own_database.engine.connect() as connection:  # ... which was committed
        assert connection.scalar(sa.select(ApiToken.last_used_at)) is not None
        # the pooled connection came back in transaction mode for whoever takes it next
        assert connection.connection.dbapi_connection.autocommit is False


def test_a_streamed_read_opens_a_transaction_for_its_cursor(
    own_database: TestDatabase, statements: list[tuple[str, bool]]
):
    app = make_app(own_database)
    for _ in range(3):
        _resident(app)
    statements.clear()
    with app.app_context(), only_reading():
        plain = db.session.scalars(sa.select(User.id)).all()
        streamed = list(db.session.scalars(sa.select(User.id).execution_options(yield_per=2)))
        db.session.rollback()
    assert sorted(streamed) == sorted(plain) and len(plain) == 3
    assert statements[0] == ("SELECT", True)  # the plain read: no transaction
    assert statements[1:] and all(not autocommit for _verb, autocommit in statements[1:])
