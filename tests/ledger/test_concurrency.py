"""Concurrent debits against one wallet, with real commits: never below zero, never lost.

Each debit is its own unit of work in its own thread, as concurrent redemption requests are.
PostgreSQL relies on the conditional balance update (re-checked after the row lock is granted);
SQLite on BEGIN IMMEDIATE.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.audit.services import SYSTEM
from app.db import db
from app.errors import DomainError
from app.ledger import budget
from app.ledger import services as ledger
from app.ledger.models import Account, BudgetMonth
from app.ledger.policy import BudgetPolicy
from app.reductions.issuance import issue_points_for
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import make_user
from tests.ledger.support import make_merchant, make_reduction, make_version, policy
from tests.ledger.test_expiry import YEAR_END, earn, spend


def race(backend: str, tmp_path: Path, *, threads: int, debits: int, points: int) -> tuple:
    """``debits`` debits of ``points`` from ``threads`` threads against a 100-point wallet."""
    database = create_test_database(backend, tmp_path, pool_size=threads, max_overflow=4)
    try:
        app = make_app(database)
        with app.app_context(), db.unit_of_work() as session:
            holder = make_user(session).id
            merchant = make_merchant(session).id
            reduction = make_reduction(session, holder, 100, version=make_version(session))
            issue_points_for(session, [reduction.id], policy=policy())

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


@pytest.mark.postgres_only
def test_the_expiry_run_locks_only_wallets_with_points_to_expire(database, tmp_path):
    """A wallet that spent its passed lot, and holds only newer points, is not locked: its
    debits never wait for the run."""
    test_database = create_test_database("postgresql", tmp_path)
    try:
        app = make_app(test_database)
        issued = datetime(2025, 5, 1, 2, tzinfo=UTC)
        with app.app_context(), db.unit_of_work() as session:
            version, merchant = make_version(session), make_merchant(session)
            keeper, spender = make_user(session), make_user(session)
            earn(session, keeper, 300, version, issued)
            earn(session, spender, 300, version, issued)
            spend(session, spender, merchant, 300, "spent-before-year-end")
            earn(session, spender, 200, version, datetime(2026, 5, 1, 2, tzinfo=UTC))
            wallets = {
                holder.id: session.scalar(
                    sa.select(Account.id).where(Account.holder_id == holder.id)
                )
                for holder in (keeper, spender)
            }
        with app.app_context(), db.unit_of_work() as session:
            run = ledger.expire_points(session, now=YEAR_END, policy=policy())
            assert (run.wallets, run.points) == (1, 300)
            with test_database.engine.connect() as other:  # the run's locks are still held
                other.execute(sa.text("SET lock_timeout = '200ms'"))
                lock = sa.text("SELECT id FROM ledger_accounts WHERE id = :id FOR UPDATE")
                assert other.execute(lock, {"id": wallets[spender.id]}).scalar()
                with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                    other.execute(lock, {"id": wallets[keeper.id]})
                other.rollback()
    finally:
        drop_test_database(test_database)


@pytest.mark.postgres_only
def test_concurrent_batches_at_the_budget_edge_never_go_over_it(database, tmp_path):
    """32 batches of 7 residents × 10 points race for a 1,000-point month: exactly 1,000 are
    issued, the rest deferred, whatever the interleaving."""
    test_database = create_test_database("postgresql", tmp_path, pool_size=16, max_overflow=4)
    now = datetime(2026, 12, 10, 4, tzinfo=UTC)
    rules = replace(policy(), budget_policy=BudgetPolicy.DEFER)
    try:
        app = make_app(test_database)
        with app.app_context(), db.unit_of_work() as session:
            version = make_version(session)
            batches = []
            for _ in range(32):
                holders = [make_user(session).id for _ in range(7)]
                batches.append(
                    [make_reduction(session, h, 10, version=version).id for h in holders]
                )
            budget.set_budget(session, SYSTEM, month="2026-12", points=1_000, policy=rules, now=now)

        def issue(ids: list[int]) -> tuple[int, int]:
            with app.app_context(), db.unit_of_work() as session:
                result = issue_points_for(session, ids, policy=rules, now=now)
                return result.issued_points, result.budget_points

        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(issue, batches))
        with app.app_context(), db.unit_of_work() as session:
            month = session.get(BudgetMonth, date(2026, 12, 1))
            report = ledger.reconcile(session)
            issued = ledger.totals(session).issued
        assert sum(points for points, _ in outcomes) == 1_000 == issued == month.issued_points
        assert sum(held for _, held in outcomes) == 32 * 70 - 1_000 == month.deferred_points
        assert report.ok
    finally:
        drop_test_database(test_database)
