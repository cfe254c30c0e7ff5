"""Concurrent decisions on PostgreSQL: the lock on a methodology's versions serialises them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from app import context as app_context
from app.accounts.roles import Role
from app.db import db
from app.errors import DomainError
from app.methodology import services
from app.methodology.models import MethodologyVersion, VersionStatus
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import make_user
from tests.methodology.support import actor

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def committed_app(database, tmp_path) -> Iterator[Flask]:
    """An app on a database of its own where every unit of work really commits."""
    own = create_test_database(database.backend, tmp_path)
    try:
        yield make_app(own)
    finally:
        drop_test_database(own)


def race(app: Flask, calls: list[Callable[[sa.orm.Session], object]]) -> list[object]:
    """Run each call in its own thread, app context and transaction, all released at once."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                with db.unit_of_work() as session:
                    results[index] = calls[index](session)
            except DomainError as error:
                results[index] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def wait_until_blocked_on_a_lock(app: Flask) -> None:
    """Poll until some other session waits for a row lock (the second approval)."""
    with app.app_context(), db.engine.connect() as connection:
        for _ in range(600):
            waiting = connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            if waiting:
                return
            threading.Event().wait(0.05)
    raise AssertionError("the second approval never waited for the first")


def test_a_second_approval_waits_for_the_first_and_is_refused(database, committed_app):
    """T1 approves and holds its transaction open; T2 approves the same version meanwhile.

    With the lock, T2 waits for T1's commit, then sees the version approved and is refused.
    Without it, T2 would read "submitted" and overwrite T1's decision.
    """
    plugins = app_context.of(committed_app).methodologies
    with committed_app.app_context(), db.unit_of_work() as session:
        reviewer = make_user(session, Role.BUREAU_REVIEWER)
        first, second = (actor(make_user(session, Role.BUREAU_ADMIN)) for _ in range(2))
        draft = services.register_draft(session, actor(reviewer), plugins["bus"])
        services.submit(session, actor(reviewer), plugins, draft.id)
        version_id = draft.id

    first_start = datetime(2026, 1, 1, tzinfo=UTC)
    approved, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first_admin() -> None:
        with committed_app.app_context(), db.unit_of_work() as session:
            services.approve(
                session, first, plugins, version_id, effective_from=first_start, comment="ok"
            )
            approved.set()
            release.wait(timeout=60)

    def second_admin() -> None:
        with committed_app.app_context():
            try:
                with db.unit_of_work() as session:
                    services.approve(
                        session,
                        second,
                        plugins,
                        version_id,
                        effective_from=datetime(2026, 2, 1, tzinfo=UTC),
                        comment="ok",
                    )
                outcome["second"] = "approved"
            except DomainError as error:
                outcome["second"] = error.reason

    one = threading.Thread(target=first_admin)
    one.start()
    assert approved.wait(timeout=60)
    two = threading.Thread(target=second_admin)
    two.start()
    try:
        wait_until_blocked_on_a_lock(committed_app)
    finally:
        release.set()
        one.join(timeout=60)
        two.join(timeout=60)
    assert outcome["second"] == "version_not_submitted"
    with committed_app.app_context(), db.unit_of_work() as session:
        stored = session.get(MethodologyVersion, version_id)
        assert stored.status == VersionStatus.APPROVED
        assert stored.effective_from == first_start
        assert stored.decided_by_id == first.user_id


def test_two_reviewers_registering_at_once_make_one_draft(database, committed_app):
    plugins = app_context.of(committed_app).methodologies
    with committed_app.app_context(), db.unit_of_work() as session:
        reviewers = [actor(make_user(session, Role.BUREAU_REVIEWER)) for _ in range(4)]
    results = race(
        committed_app,
        [
            lambda session, who=who: services.register_draft(session, who, plugins["metro"]).id
            for who in reviewers
        ],
    )
    assert len([r for r in results if isinstance(r, int)]) == 1, results
    assert {r.reason for r in results if isinstance(r, DomainError)} == {"draft_exists"}
    with committed_app.app_context(), db.unit_of_work() as session:
        count = session.scalar(sa.select(sa.func.count()).where(MethodologyVersion.code == "metro"))
        assert count == 1
