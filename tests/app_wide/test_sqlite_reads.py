"""The embedded default answers while it writes: on SQLite, reads do not take the write lock.

A GET request's transaction begins DEFERRED and reads the last committed state (WAL); a change,
a job or a command begins IMMEDIATE and holds the lock from its first statement, as the ledger's
locking protocol needs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app.adapters import only_reading
from app.adapters.sqlite import ReadingRequestWrites
from app.db import db
from tests.activities.support import (
    BATCH_URL,
    approve_methodologies,
    at,
    make_partner,
    ride,
    signed_headers,
)
from tests.conftest import TestDatabase, create_test_database, drop_test_database, make_app

#: A functional deadline, not a benchmark: before the change a read waited behind the writer's
#: lock for as long as the batch took (up to busy_timeout, 30 s). Served from memory, each read
#: takes a few milliseconds; 1 s leaves room for a loaded machine and still fails if a read
#: waits for the lock.
DEADLINE_SECONDS = 1.0
BATCH_SIZE = 5_000


@pytest.fixture
def file_database(tmp_path: Path):
    database = create_test_database("sqlite", tmp_path)
    yield database
    drop_test_database(database)


def _sqlite_path(database: TestDatabase) -> str:
    return database.engine.url.database


def _write_lock_is_held(path: str) -> bool:
    """Whether another connection holds SQLite's write lock right now."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()
    return False


@pytest.mark.sqlite_only
def test_a_read_begins_without_the_write_lock_and_a_change_with_it(file_database: TestDatabase):
    path = _sqlite_path(file_database)
    engine = file_database.engine
    with only_reading(), engine.connect() as connection:
        connection.execute(sa.text("SELECT count(*) FROM users")).scalar()
        assert not _write_lock_is_held(path)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT count(*) FROM users")).scalar()
        assert _write_lock_is_held(path)  # the lock is taken at BEGIN, before any write
        connection.rollback()
    assert not _write_lock_is_held(path)


@pytest.mark.sqlite_only
def test_healthz_and_a_page_answer_while_a_5000_item_batch_is_written(
    file_database: TestDatabase,
):
    app: Flask = make_app(file_database, MAX_CONTENT_LENGTH=64 * 1024 * 1024)
    with app.app_context():
        approve_methodologies(app, db.session)
        key = make_partner(app, db.session, ["bus_ride"])
    items = [ride(f"load-{n}", f"CARD{n:06d}", at(8, n % 600 // 10)) for n in range(BATCH_SIZE)]
    body = json.dumps({"activities": items}).encode()
    answers: list[int] = []

    def send_batch() -> None:
        response = app.test_client().post(BATCH_URL, data=body, headers=signed_headers(key, body))
        answers.append(response.status_code)

    writer = threading.Thread(target=send_batch)
    path = _sqlite_path(file_database)
    writer.start()
    try:
        while writer.is_alive() and not _write_lock_is_held(path):
            time.sleep(0.005)
        held_during = []
        timings = {}
        reader = app.test_client()
        for url in ("/healthz", "/"):
            started = time.monotonic()
            response = reader.get(url)
            timings[url] = time.monotonic() - started
            assert response.status_code == 200, url
            held_during.append(_write_lock_is_held(path))
    finally:
        writer.join()
    print(f"reads during the batch: {timings}")
    assert answers == [200]
    assert all(held_during), "the batch finished before the reads: nothing was shown"
    assert all(seconds < DEADLINE_SECONDS for seconds in timings.values()), timings
    with app.app_context():
        written = db.session.scalar(sa.text("SELECT count(*) FROM activities"))
    assert written == BATCH_SIZE


@pytest.mark.sqlite_only
def test_a_get_that_writes_takes_the_lock_before_it_writes(file_database: TestDatabase):
    app = make_app(file_database)
    path = _sqlite_path(file_database)
    with app.test_request_context("/offers/1/qr", method="GET"):
        app.preprocess_request()  # the request hooks: a GET reads
        db.session.execute(sa.text("SELECT count(*) FROM users"))
        assert not _write_lock_is_held(path)
        db.writing()
        db.session.execute(sa.text("SELECT count(*) FROM users"))
        assert _write_lock_is_held(path)
        db.session.rollback()
    with app.test_request_context("/", method="POST"):
        app.preprocess_request()
        db.session.execute(sa.text("SELECT count(*) FROM users"))
        assert _write_lock_is_held(path)
        db.session.rollback()


@pytest.mark.sqlite_only
def test_a_write_in_a_reading_request_is_flagged(file_database: TestDatabase):
    app = make_app(file_database)
    with app.test_request_context("/", method="GET"):
        app.preprocess_request()
        with pytest.warns(ReadingRequestWrites):
            db.session.execute(sa.text("DELETE FROM users WHERE id = -1"))
        db.session.rollback()
