"""`tanpuhui jobs NAME` for each registered job, `tanpuhui jobs list`, `tanpuhui scheduler`."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

from app.jobs.models import RunOutcome
from app.jobs.registry import JOBS, Job
from app.jobs.runner import run_job


@click.group("jobs", help="Run a scheduled job now (it waits while another run of it is busy).")
def jobs_group() -> None:
    pass


@jobs_group.command("list")
def list_jobs() -> None:
    """Every registered job with its schedule (cron fields in the city's time zone)."""
    width = max(len(name) for name in JOBS)
    for job in JOBS.values():
        cron = " ".join(f"{key}={value}" for key, value in job.cron.items())
        click.echo(f"{job.name:<{width}}  {cron:<28} {job.description}")


def _job_command(job: Job) -> click.Command:
    @click.command(job.name, help=f"{job.description}.")
    @click.option("--no-wait", is_flag=True, help="Give up at once if another run is busy")
    @with_appcontext
    def command(no_wait: bool) -> None:
        bundling = job.name == "bundle-filings"
        before = _newest_batch_id() if bundling else 0
        result = run_job(job.name, trigger="cli", wait=not no_wait)
        if result is None:
            click.echo(f"{job.name}: another run is busy; not started")
            sys.exit(3)
        counts = ", ".join(f"{key}={value}" for key, value in result.counts.items())
        click.echo(f"{job.name}: {result.outcome.value} (run {result.run_id}) {counts}".rstrip())
        if result.outcome is not RunOutcome.SUCCEEDED:
            click.echo(result.error or "", err=True)
            sys.exit(1)
        if bundling:
            for serial in _serials_after(before):
                click.echo(f"batch {serial}")

    return command


def _newest_batch_id() -> int:
    from app.db import db
    from app.filings import bundling

    with db.unit_of_work() as session:
        return bundling.newest_batch_id(session)


def _serials_after(batch_id: int) -> list[str]:
    """The serials of the filing batches a bundling run made (one per line on the terminal)."""
    from app.db import db
    from app.filings import bundling

    with db.unit_of_work() as session:
        return bundling.serials_after(session, batch_id)


for _job in JOBS.values():
    jobs_group.add_command(_job_command(_job))


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler until stopped; a second one waits until this one stops."""
    from app.jobs.scheduler import Scheduler

    scheduler = Scheduler(current_app._get_current_object())  # type: ignore[attr-defined]

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        scheduler.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"scheduler: {len(JOBS)} jobs; waiting for the scheduler lease")
    scheduler.run()
    click.echo("scheduler: stopped")
