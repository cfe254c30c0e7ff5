"""The bureau's view of scheduled jobs: what is registered, when it runs next, every run."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, render_template, request

from app.accounts.auth import requires
from app.accounts.roles import Permission
from app.api.pagination import keyset_page
from app.db import db
from app.jobs import words
from app.jobs.models import JobLease, JobRun, scheduler_jobs
from app.jobs.registry import JOBS

bp = Blueprint("jobs", __name__, url_prefix="/bureau/jobs")


@bp.get("/")
@requires(Permission.BUREAU_CONSOLE)
def index() -> str:
    next_runs = {
        job_id: datetime.fromtimestamp(when, UTC)
        for job_id, when in db.session.execute(
            sa.select(scheduler_jobs.c.id, scheduler_jobs.c.next_run_time)
        )
        if when is not None
    }
    holders = {
        lease.name: lease
        for lease in db.session.scalars(sa.select(JobLease).where(JobLease.holder.is_not(None)))
    }
    stmt = sa.select(JobRun)
    if request.args.get("job") in JOBS:
        stmt = stmt.where(JobRun.job == request.args["job"])
    runs = keyset_page(db.session, stmt, JobRun.id, limit=50, cursor=request.args.get("cursor"))
    return render_template(
        "bureau/jobs.html", jobs=JOBS, next_runs=next_runs, holders=holders, page=runs,
        schedule_in_words=words.schedule_in_words, counts_in_words=words.counts_in_words,
        outcome_names=words.OUTCOME_NAMES,
    )  # fmt: skip
