"""Jobs on a frozen clock: schedules in Asia/Shanghai, year-end expiry, reminders, leases, run
records, and the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.jobs import leases
from app.jobs.models import ExpiryNotice, JobRun, RunOutcome
from app.jobs.registry import JOBS
from app.jobs.runner import lease_name, run_job
from app.jobs.scheduler import trigger_for
from app.ledger import services as ledger
from app.reductions.issuance import issue_points_for
from tests.factories import log_in, make_user
from tests.filings.support import SHANGHAI, make_reduction, make_version, shanghai


@pytest.mark.parametrize(
    ("job", "now", "expected"),
    [
        ("bundle-filings", shanghai(2026, 11, 30, 23, 59), shanghai(2026, 12, 1, 2, 0)),
        ("bundle-filings", shanghai(2026, 12, 1, 2, 0, 1), shanghai(2027, 1, 1, 2, 0)),
        ("expire-points", shanghai(2026, 12, 31, 23, 0), shanghai(2027, 1, 1, 0, 10)),
        ("remind-expiring", shanghai(2026, 12, 1, 10, 0), shanghai(2026, 12, 2, 9, 0)),
        ("daily-statistics", shanghai(2026, 12, 1, 10, 6), shanghai(2026, 12, 1, 11, 5)),
    ],
)
def test_schedules_are_counted_in_the_city_time_zone(job, now, expected):
    fire = trigger_for(JOBS[job], SHANGHAI).get_next_fire_time(None, now)
    assert fire == expected
    assert fire.astimezone(UTC) == expected.astimezone(UTC)


@pytest.fixture
def wallet(app, session):
    """A resident issued points on 2025-06-01: valid to the end of 2026 (the default policy)."""
    version = make_version(session)
    resident = make_user(session)
    reduction = make_reduction(session, version, resident, shanghai(2025, 6, 1, 8), km="20")
    policy = ledger.policy_from_config(app.config)
    issued = issue_points_for(
        session, [reduction.id], policy=policy, now=shanghai(2025, 6, 1, 9).astimezone(UTC)
    )
    session.commit()
    return resident, issued.issued_points


def test_year_end_expiry_runs_once_the_year_is_over(app, session, wallet):
    resident, points = wallet
    assert points > 0
    with time_machine.travel(shanghai(2026, 12, 31, 23, 59), tick=False), app.app_context():
        before = run_job("expire-points", trigger="cli")
    assert before.counts == {"wallets": 0, "points": 0}
    assert ledger.balance(session, resident.id) == points

    with time_machine.travel(shanghai(2027, 1, 1, 0, 10), tick=False), app.app_context():
        after = run_job("expire-points", trigger="cli")
        again = run_job("expire-points", trigger="cli")
    assert after.counts == {"wallets": 1, "points": points}
    assert again.counts == {"wallets": 0, "points": 0}
    session.expire_all()
    assert ledger.balance(session, resident.id) == 0


def test_the_expiry_job_examines_only_what_changed_since_its_last_success(app, session, wallet):
    _resident, points = wallet

    def record(outcome, *local_start):
        started = shanghai(*local_start).astimezone(UTC)
        finished = started + timedelta(minutes=1)
        session.add(
            JobRun(job="expire-points", trigger="cli", holder="h:1:x", outcome=outcome,
                   started_at=started, finished_at=finished)
        )  # fmt: skip
        session.commit()

    # A successful run after the year end means these points are gone already: the next run
    # does not look at this untouched wallet again.
    record(RunOutcome.SUCCEEDED, 2027, 1, 2, 0, 10)
    with time_machine.travel(shanghai(2027, 1, 3, 0, 10), tick=False), app.app_context():
        told = run_job("expire-points", trigger="cli")
    assert told.counts == {"wallets": 0, "points": 0}

    # Only a success counts: after a failed run the lot that passed since the last success is
    # still looked at.
    session.execute(sa.delete(JobRun))
    record(RunOutcome.SUCCEEDED, 2026, 12, 31, 23, 0)
    record(RunOutcome.FAILED, 2027, 1, 2, 0, 10)
    with time_machine.travel(shanghai(2027, 1, 3, 0, 20), tick=False), app.app_context():
        after_failure = run_job("expire-points", trigger="cli")
    assert after_failure.counts == {"wallets": 1, "points": points}


def test_residents_are_reminded_once_of_points_expiring_within_30_days(
    app, client, session, wallet
):
    resident, points = wallet
    with time_machine.travel(shanghai(2026, 11, 20), tick=False), app.app_context():
        early = run_job("remind-expiring", trigger="cli")
    assert early.counts == {"reminders": 0}
    with time_machine.travel(shanghai(2026, 12, 5, 9), tick=False), app.app_context():
        first = run_job("remind-expiring", trigger="cli")
        second = run_job("remind-expiring", trigger="cli")
    assert first.counts == {"reminders": 1} and second.counts == {"reminders": 0}
    notice = session.scalars(sa.select(ExpiryNotice)).one()
    assert (notice.holder_id, notice.points) == (resident.id, points)
    assert notice.expires_at == shanghai(2027, 1, 1).astimezone(UTC)
    with time_machine.travel(shanghai(2026, 12, 6), tick=False):
        log_in(client, resident)
        home = client.get("/me").get_data(as_text=True)
    assert "2026-12-31" in home and f"{points:,}" in home


def test_a_busy_lease_makes_a_second_run_wait_or_give_up(app, session):
    with app.app_context():
        now = datetime.now(UTC)
        assert leases.try_acquire(
            session, lease_name("daily-statistics"), "other:1:x", now=now, ttl=60
        )
        session.commit()
        assert run_job("daily-statistics", trigger="cli", wait=False) is None
        assert not session.scalar(sa.select(sa.func.count()).select_from(JobRun))
        later = now + timedelta(seconds=61)
        with time_machine.travel(later, tick=False):
            result = run_job("daily-statistics", trigger="cli", wait=False)
    assert result is not None and result.outcome is RunOutcome.SUCCEEDED


def test_a_lease_held_by_a_process_that_died_is_taken_over(app, session):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = socket.gethostname()[:80]
    now = datetime.now(UTC)
    alive = f"{host}:{os.getppid()}:cafe"
    assert leases.try_acquire(session, "job:alive", alive, now=now, ttl=3600)
    assert not leases.try_acquire(session, "job:alive", leases.HOLDER, now=now, ttl=60)
    dead = f"{host}:{child.pid}:dead"
    assert leases.try_acquire(session, "job:dead", dead, now=now, ttl=3600)
    assert leases.try_acquire(session, "job:dead", leases.HOLDER, now=now, ttl=60)


def test_a_run_left_running_by_a_dead_process_is_marked_abandoned(app, session):
    session.add(
        JobRun(job="daily-statistics", trigger="scheduler", holder="gone:1:x",
               started_at=datetime.now(UTC))
    )  # fmt: skip
    session.commit()
    with app.app_context():
        run_job("daily-statistics", trigger="cli")
    outcomes = session.scalars(sa.select(JobRun.outcome).order_by(JobRun.id)).all()
    assert outcomes == [RunOutcome.ABANDONED, RunOutcome.SUCCEEDED]


def test_every_job_is_a_command(app, session):
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0
    for name in JOBS:
        assert name in listing.output
    result = runner.invoke(args=["jobs", "daily-statistics"])
    assert result.exit_code == 0, result.output
    assert "daily-statistics: succeeded" in result.output
