"""The scheduler process (``tanpuhui scheduler``): APScheduler 3 with its job store in the
platform database, run by one process at a time.

A second scheduler started beside the first waits for the 'scheduler' lease and takes over only
when the first stops or dies; the first renews its lease every ``heartbeat`` seconds and stops
scheduling if it ever loses it. Each fired job then goes through :func:`run_job`, whose per-job
lease also keeps a scheduled run and a command-line run of the same job apart.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from app import clock
from app import context as app_context
from app.db import db
from app.jobs import leases
from app.jobs.models import scheduler_jobs
from app.jobs.registry import JOBS, Job
from app.jobs.runner import run_job

log = logging.getLogger(__name__)

LEADER_LEASE = "scheduler"
_app: Flask | None = None


class PlatformJobStore(SQLAlchemyJobStore):
    """APScheduler's SQL job store on the platform's own engine, which outlives the scheduler:
    stopping the scheduler must not dispose of the connections the rest of the process uses."""

    def shutdown(self) -> None:
        """Leave the engine alone (APScheduler's store would dispose of it)."""


def trigger_for(job: Job, tz: ZoneInfo) -> CronTrigger:
    """The job's schedule: cron fields counted in the city's time zone."""
    return CronTrigger(timezone=tz, **job.cron)


def run_scheduled(name: str) -> None:
    """What the job store calls (by reference, so it survives restarts) when a job is due."""
    if _app is None:
        raise RuntimeError("the scheduler's application is not set")
    with _app.app_context():
        run_job(name, trigger="scheduler")


def run_if_due(name: str) -> None:
    """The poll of a job run on demand: start it only when its ``due`` finds work waiting."""
    if _app is None:
        raise RuntimeError("the scheduler's application is not set")
    due = JOBS[name].due
    with _app.app_context():
        with db.unit_of_work() as session:
            waiting = due is None or due(session)
        if waiting:
            run_job(name, trigger="scheduler", wait=False)


class Scheduler:
    """One scheduler process: wait to lead, schedule every registered job, stop on request."""

    def __init__(
        self,
        app: Flask,
        *,
        holder: str = leases.HOLDER,
        heartbeat: float = 20.0,
        poll_seconds: float = 5.0,
    ) -> None:
        self.app = app
        self.holder = holder
        self.heartbeat = heartbeat
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.leading = threading.Event()

    def run(self) -> None:
        """Block until :meth:`stop` is called (or the lease is lost)."""
        global _app
        _app = self.app
        with self.app.app_context():
            while not self._lead():
                log.info("another scheduler holds the lease; waiting")
                if self.stopping.wait(self.poll_seconds):
                    return
            self.leading.set()
            tz = app_context.of(self.app).zone
            scheduler = BackgroundScheduler(
                jobstores={
                    "default": PlatformJobStore(engine=db.engine),
                    # Polls live only as long as this process leads: nothing to persist.
                    "polls": MemoryJobStore(),
                },
                timezone=tz,
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
            )
            self._forget_unregistered_jobs()
            for job in JOBS.values():
                scheduler.add_job(
                    "app.jobs.scheduler:run_scheduled",
                    trigger=trigger_for(job, tz),
                    args=[job.name],
                    id=job.name,
                    name=job.description,
                    replace_existing=True,
                )
                if job.poll_seconds:
                    scheduler.add_job(
                        run_if_due,
                        trigger=IntervalTrigger(seconds=job.poll_seconds, timezone=tz),
                        next_run_time=datetime.now(tz),  # at start-up, then every interval
                        args=[job.name],
                        id=f"poll:{job.name}",
                        jobstore="polls",
                    )
            scheduler.start()
            log.info("scheduler started with %d jobs", len(JOBS))
            try:
                while not self.stopping.wait(self.heartbeat):
                    if not self._renew():
                        log.error("scheduler lease lost; stopping")
                        break
            finally:
                scheduler.shutdown(wait=True)
                self.leading.clear()
                with db.unit_of_work() as session:
                    leases.release(session, LEADER_LEASE, self.holder)

    def stop(self) -> None:
        self.stopping.set()

    def _ttl(self) -> float:
        return self.heartbeat * 3

    def _lead(self) -> bool:
        with db.unit_of_work() as session:
            return leases.try_acquire(
                session, LEADER_LEASE, self.holder, now=clock.now(), ttl=self._ttl()
            )

    def _renew(self) -> bool:
        with db.unit_of_work() as session:
            return leases.renew(
                session, LEADER_LEASE, self.holder, now=clock.now(), ttl=self._ttl()
            )

    @staticmethod
    def _forget_unregistered_jobs() -> None:
        """A job removed from the registry leaves the store too, instead of failing each time."""
        with db.unit_of_work() as session:
            session.execute(sa.delete(scheduler_jobs).where(scheduler_jobs.c.id.not_in(JOBS)))
