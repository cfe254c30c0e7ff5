"""Concurrent debits against one wallet, with real commits: never below zero, never lost.

Each debit is its own unit of work in its own thread, as concurrent redemption requests are.
PostgreSQL relies on the conditional balance update (re-checked after the row lock is granted);
SQLite on BEGIN IMMEDIATE.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.db import db
from app.errors import DomainError
from app.ledger import services as ledger
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import make_user
from tests.ledger.support import make_merchant, make_reduction, make_version, policy


def race(backend: str, tmp_path: Path, *, threads: int, debits: int, points: int) -> tuple:
    """``debits`` debits of ``points`` from ``threads`` threads against a 100-point wallet."""
    database = create_test_database(backend, tmp_path, pool_size=threads, max_overflow=4)
    try:
        app = make_app(database)
        with app.app_context(), db.unit_of_work() as session:
            holder = make_user(session).id
            merchant = make_merchant(session).id
            reduction = make_reduction(session, holder, 100, version=make_version(session))
            ledger.issue_points(session, [reduction.id], policy=policy())

        def debit(n: int) -> str:
            with app.app_context():
                try:
                    with db.unit_of_work() as session:
                        ledger.redeem(
                            session,
                            holder_id=holder,
                            merchant_id=merchant,
                            points=points,
                            idempotency_key=f"race-{n}",
                        )
                except DomainError as error:
                    return error.reason
                return "ok"

        with ThreadPoolExecutor(threads) as pool:
            outcomes = Counter(pool.map(debit, range(debits)))
        with app.app_context(), db.unit_of_work() as session:
            balance = ledger.balance(session, holder)
            report = ledger.reconcile(session)
        return outcomes, balance, report
    finally:
        drop_test_database(database)


@pytest.mark.postgres_only
@pytest.mark.parametrize(("points", "winners", "left"), [(100, 1, 0), (7, 14, 2)])
def test_concurrent_debits_on_postgresql(database, tmp_path, points, winners, left):
    outcomes, balance, report = race(
        "postgresql", tmp_path, threads=64, debits=1_000, points=points
    )
    assert outcomes == {"ok": winners, "insufficient_points": 1_000 - winners}
    assert balance == left
    assert report.ok and report.transactions == 1 + winners


@pytest.mark.parametrize(("points", "winners", "left"), [(100, 1, 0), (7, 14, 2)])
def test_concurrent_debits_on_sqlite(tmp_path, points, winners, left):
    outcomes, balance, report = race("sqlite", tmp_path, threads=8, debits=200, points=points)
    assert outcomes == {"ok": winners, "insufficient_points": 200 - winners}
    assert balance == left
    assert report.ok and report.transactions == 1 + winners
