"""The scheduler process: its job store lives in the platform database, and a second scheduler
started beside the first waits instead of running the same jobs twice."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from app.jobs import scheduler as scheduler_module
from app.jobs.models import JobLease, JobRun, scheduler_jobs
from app.jobs.registry import JOBS
from app.jobs.scheduler import LEADER_LEASE, Scheduler
from tests.conftest import create_test_database, drop_test_database, make_app


def _start(scheduler: Scheduler) -> threading.Thread:
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    return thread


def test_a_second_scheduler_waits_until_the_first_stops(database, tmp_path):
    own = create_test_database(database.backend, tmp_path)
    try:
        app = make_app(own)
        first = Scheduler(app, holder="elsewhere:1:first", heartbeat=0.2, poll_seconds=0.05)
        second = Scheduler(app, holder="elsewhere:2:second", heartbeat=0.2, poll_seconds=0.05)
        first_thread = _start(first)
        assert first.leading.wait(30)
        second_thread = _start(second)
        # The second keeps polling for the lease (many polls pass here) and never leads.
        assert not second.leading.wait(1.0)
        with own.engine.connect() as connection:
            stored = set(connection.execute(sa.select(scheduler_jobs.c.id)).scalars())
            leader = connection.scalar(
                sa.select(JobLease.holder).where(JobLease.name == LEADER_LEASE)
            )
        assert stored == set(JOBS)
        assert leader == "elsewhere:1:first"

        scheduler_module.run_scheduled("daily-statistics")
        with own.engine.connect() as connection:
            runs = connection.execute(sa.select(JobRun.job, JobRun.trigger)).all()
        # The scheduled run, and perhaps the statistics' poll at start-up (never computed yet).
        assert {tuple(run) for run in runs} == {("daily-statistics", "scheduler")}

        first.stop()
        first_thread.join(30)
        assert second.leading.wait(30)
        second.stop()
        second_thread.join(30)
        assert not second_thread.is_alive()
        with own.engine.connect() as connection:
            assert (
                connection.scalar(sa.select(JobLease.holder).where(JobLease.name == LEADER_LEASE))
                is None
            )
    finally:
        drop_test_database(own)
