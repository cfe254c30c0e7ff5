"""Bundling under real concurrency on PostgreSQL: two processes at once never put a reduction in
two batches, and a bundling process killed midway leaves no partial batch for the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.roles import Role
from app.audit.services import Actor
from app.db import db
from app.errors import DomainError
from app.filings import bundling, claims, services
from app.filings.models import (
    FilingBatch,
    FilingLine,
    ParticipantPseudonym,
    UnitRange,
    UnitState,
)
from app.jobs.models import JobRun, RunOutcome
from app.reductions.models import Reduction, ReductionStatus
from tests.conftest import TestDatabase, create_test_database, drop_test_database, make_app
from tests.factories import make_user
from tests.filings.support import SETTINGS, SHANGHAI, make_version, verified_organisation

pytestmark = pytest.mark.postgres_only
TANPUHUI = str(Path(sys.executable).parent / "tanpuhui")
MONTHS = ((2026, 3), (2026, 4))


@pytest.fixture
def seeded(database, tmp_path) -> Iterator[tuple[TestDatabase, int]]:
    """A database of its own (real commits) with verified reductions in two months."""
    own = create_test_database("postgresql", tmp_path)
    app = make_app(own)
    with app.app_context(), db.unit_of_work() as session:
        version = make_version(session)
        residents = [make_user(session) for _ in range(20)]
        template = {
            "methodology_version_id": version.id, "activity_kind": version.activity_kind,
            "self_reported": False, "quantities": {"distance_km": "8.2", "duration_minutes": "25"},
            "baseline_g": 221, "project_g": 0, "reduction_g": 221, "capped": False,
            "status": ReductionStatus.VERIFIED, "findings": [],
        }  # fmt: skip
        rows = [
            template
            | {
                "participant_id": residents[n % 20].id,
                "occurred_at": datetime(year, month, 1, tzinfo=UTC) + timedelta(minutes=7 * n),
            }
            for year, month in MONTHS
            for n in range(2500)
        ]
        session.execute(sa.insert(Reduction), rows)
    yield own, len(rows)
    drop_test_database(own)


def _environment(database: TestDatabase) -> dict[str, str]:
    options = quote(f"-csearch_path={database.schema}")
    return os.environ | {
        "DATABASE_URL": f"{database.url}?options={options}",
        "SECRET_KEY": "test-secret-key",
        "LOG_LEVEL": "WARNING",
    }


def _bundle(database: TestDatabase) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TANPUHUI, "jobs", "bundle-filings"],
        env=_environment(database),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _check_each_reduction_bundled_once(database: TestDatabase, expected: int) -> None:
    with database.engine.connect() as connection:
        live = connection.execute(
            sa.select(FilingLine.reduction_id, sa.func.count())
            .where(FilingLine.active.is_(True))
            .group_by(FilingLine.reduction_id)
        ).all()
        batches = connection.execute(sa.select(FilingBatch.total_g, FilingBatch.activities)).all()
    assert len(live) == expected
    assert {count for _, count in live} == {1}
    assert len(batches) == len(MONTHS)
    assert sum(activities for _, activities in batches) == expected


def test_two_bundling_processes_at_once_bundle_each_reduction_once(seeded):
    database, expected = seeded
    first, second = _bundle(database), _bundle(database)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    _check_each_reduction_bundled_once(database, expected)
    with database.engine.connect() as connection:
        runs = connection.execute(sa.select(JobRun.outcome, JobRun.counts)).all()
    assert sorted(run.counts["batches"] for run in runs) == [0, len(MONTHS)]
    assert {run.outcome for run in runs} == {RunOutcome.SUCCEEDED}


def test_two_bundling_transactions_at_once_without_the_job_lease(seeded):
    """Even bypassing the lease (two sessions calling the service), the database keeps the rule."""
    database, expected = seeded
    app = make_app(database)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def bundle() -> None:
        try:
            with app.app_context(), db.unit_of_work() as session:
                barrier.wait()
                bundling.bundle_due(session, SETTINGS, now=datetime(2026, 6, 1, tzinfo=UTC))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=bundle) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    _check_each_reduction_bundled_once(database, expected)


def _blocked_bundler_backend(database: TestDatabase) -> int | None:
    with database.engine.connect() as connection:
        return connection.scalar(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'INSERT INTO participant_pseudonyms%'"
            )
        )


def test_a_bundling_process_killed_midway_leaves_nothing_and_the_next_run_completes(seeded):
    database, expected = seeded
    # Hold an uncommitted pseudonym for one participant: the bundler, having written its batch
    # rows and all their lines, waits on it, and is killed right there.
    blocker = database.engine.connect()
    transaction = blocker.begin()
    participant = blocker.scalar(sa.select(sa.func.min(User.id)).where(User.role == Role.RESIDENT))
    blocker.execute(
        sa.insert(ParticipantPseudonym).values(participant_id=participant, pseudonym="0" * 32)
    )
    process = _bundle(database)
    deadline = time.monotonic() + 120
    backend = None
    while backend is None and time.monotonic() < deadline:
        time.sleep(0.2)
        backend = _blocked_bundler_backend(database)
    assert backend is not None, process.stderr.read() if process.poll() is not None else "busy"
    process.send_signal(signal.SIGKILL)
    process.communicate()
    with database.engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    transaction.rollback()
    blocker.close()

    with database.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(FilingBatch)) == 0
        assert connection.scalar(sa.select(sa.func.count()).select_from(FilingLine)) == 0
        left = connection.execute(sa.select(JobRun.outcome)).scalars().all()
    assert left == [RunOutcome.RUNNING]

    rerun = _bundle(database)
    output = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    _check_each_reduction_bundled_once(database, expected)
    with database.engine.connect() as connection:
        outcomes = connection.execute(sa.select(JobRun.outcome).order_by(JobRun.id)).scalars()
        assert list(outcomes) == [RunOutcome.ABANDONED, RunOutcome.SUCCEEDED]


def test_two_approvals_at_once_never_retire_more_than_a_batch_holds(database, tmp_path):
    own = create_test_database("postgresql", tmp_path)
    try:
        app = make_app(own)
        with app.app_context(), db.unit_of_work() as session:
            version = make_version(session)
            resident = make_user(session)
            for day in (1, 2, 3):
                session.add(
                    Reduction(
                        participant_id=resident.id, methodology_version_id=version.id,
                        activity_kind=version.activity_kind,
                        occurred_at=datetime(2026, 5, day, 2, tzinfo=UTC), self_reported=False,
                        quantities={"distance_km": "8.2", "duration_minutes": "25"},
                        baseline_g=2_000_000, project_g=0, reduction_g=2_000_000, capped=False,
                        status=ReductionStatus.VERIFIED, findings=[],
                    )
                )  # fmt: skip
            batch = bundling.bundle_month(session, SETTINGS, version.id, date(2026, 5, 1))
            staff = [make_user(session, Role.BUREAU_REVIEWER) for _ in range(2)]
            actors = [Actor(user.id, user.role) for user in staff]
            services.approve(session, actors[0], batch.id)
            services.approve(session, actors[1], batch.id)
            services.submit(session, actors[0], batch.id, registry_reference="R-1")
            services.accept(session, actors[1], batch.id, city_code="YC")
            rules = claims.ClaimRules(yearly_cap_g=batch.total_g, tz=SHANGHAI)
            requests = [
                claims.request_claim(
                    session, Actor(org.account_id, Role.ORGANISATION), rules,
                    organisation_id=org.id, event_name=f"event {n}",
                    event_date=date(2026, 6, 1), grams=4_000_000, beneficiary=f"o{n}",
                ).id
                for n, org in enumerate(verified_organisation(session, f"o{n}") for n in range(2))
            ]  # fmt: skip
            total = batch.total_g

        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def approve(claim_id: int) -> None:
            with app.app_context():
                try:
                    with db.unit_of_work() as session:
                        barrier.wait()
                        claims.approve_claim(session, actors[0], claim_id)
                    outcomes.append("approved")
                except DomainError as error:
                    outcomes.append(error.reason)

        threads = [threading.Thread(target=approve, args=(claim_id,)) for claim_id in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sorted(outcomes) == ["approved", "exceeds_remaining"]
        with own.engine.connect() as connection:
            retired = connection.execute(
                sa.select(UnitRange.first_unit, UnitRange.last_unit).where(
                    UnitRange.state == UnitState.RETIRED
                )
            ).all()
        assert retired == [(1, 4)] and total == 6_000_000  # 6 units: never 8 retired
    finally:
        drop_test_database(own)
