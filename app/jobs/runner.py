"""Running one job: take its lease, record the run, do the work, close the run, free the lease.

The run row is committed as 'running' first; the work and the closing of the row then commit in
one transaction, so a run either did all its work and says so, or did none of it. A process that
dies midway leaves only the 'running' row, which the next run (holding the lease, so certainly
alone) marks abandoned before it does the same work again. A job that works in chunks (every
wallet at year end) commits each whole chunk, and its last chunk closes the run; a run that dies
between chunks leaves whole chunks done, and the next run, idempotent, does the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app import clock
from app.context import city_zone
from app.db import db
from app.jobs import leases
from app.jobs.models import JobRun, RunOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job gets besides its session: the instant it runs at and plain settings."""

    now: datetime
    tz: ZoneInfo
    config: Mapping[str, Any]
    #: When the job's last successful run started (None: it never succeeded).
    previous_success: datetime | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """What one call of a job did; ``after`` set means "call again with it".

    Most jobs do everything in one step. A job over every wallet works in chunks: each chunk
    commits on its own (whole, never half), and the last one closes the run record.
    """

    counts: Mapping[str, int]
    after: Any = None


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: int
    outcome: RunOutcome
    counts: dict[str, Any]
    error: str | None


def lease_name(job: str) -> str:
    return f"job:{job}"


def run_job(
    name: str,
    *,
    trigger: str,
    holder: str = leases.HOLDER,
    wait: bool = True,
    poll_seconds: float = 2.0,
) -> RunResult | None:
    """Run the registered job ``name`` once; None if ``wait`` is false and another run holds it.

    Needs an application context. Waits (polling) while another process runs the same job.
    """
    from app.jobs.registry import JOBS

    job = JOBS[name]
    while not _acquire(lease_name(name), holder, job.lease_seconds):
        if not wait:
            log.info("job %s is running elsewhere; not started", name)
            return None
        time.sleep(poll_seconds)
    try:
        previous_success = _previous_success(name)
        run_id = _open_run(name, trigger, holder)
        context = JobContext(
            now=clock.now(),
            tz=city_zone(),
            config=current_app.config,
            previous_success=previous_success,
        )
        counts: dict[str, int] = {}
        after: Any = None
        try:
            while True:
                with db.unit_of_work() as session:
                    step = job.run(session, context, after)
                    for key, value in step.counts.items():
                        counts[key] = counts.get(key, 0) + value
                    if step.after is None:
                        _close_run(session, run_id, RunOutcome.SUCCEEDED, counts)
                    else:
                        leases.renew(
                            session, lease_name(name), holder, now=clock.now(),
                            ttl=job.lease_seconds,
                        )  # fmt: skip
                if step.after is None:
                    break
                after = step.after
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:4000]
            log.exception("job %s failed", name)
            with db.unit_of_work() as session:
                _close_run(session, run_id, RunOutcome.FAILED, counts, error)
            return RunResult(run_id, RunOutcome.FAILED, counts, error)
        log.info("job %s succeeded: %s", name, counts)
        return RunResult(run_id, RunOutcome.SUCCEEDED, counts, None)
    finally:
        with db.unit_of_work() as session:
            leases.release(session, lease_name(name), holder)


def _acquire(lease: str, holder: str, ttl: float) -> bool:
    with db.unit_of_work() as session:
        return leases.try_acquire(session, lease, holder, now=clock.now(), ttl=ttl)


def _previous_success(name: str) -> datetime | None:
    with db.unit_of_work() as session:
        return session.scalar(
            sa.select(JobRun.started_at)
            .where(JobRun.job == name, JobRun.outcome == RunOutcome.SUCCEEDED)
            .order_by(JobRun.started_at.desc())
            .limit(1)
        )


def _open_run(name: str, trigger: str, holder: str) -> int:
    with db.unit_of_work() as session:
        now = clock.now()
        # Holding the lease, this is the only run of the job: any other 'running' one died.
        session.execute(
            sa.update(JobRun)
            .where(JobRun.job == name, JobRun.outcome == RunOutcome.RUNNING)
            .values(
                outcome=RunOutcome.ABANDONED,
                finished_at=now,
                error="The process ended before the run finished; its work was rolled back.",
            )
            .execution_options(synchronize_session=False)
        )
        run = JobRun(job=name, trigger=trigger, holder=holder, started_at=now)
        session.add(run)
        session.flush()
        return run.id


def _close_run(
    session: Session,
    run_id: int,
    outcome: RunOutcome,
    counts: dict[str, Any],
    error: str | None = None,
) -> None:
    session.execute(
        sa.update(JobRun)
        .where(JobRun.id == run_id)
        .values(outcome=outcome, finished_at=clock.now(), counts=counts, error=error)
        .execution_options(synchronize_session=False)
    )
