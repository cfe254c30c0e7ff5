"""Job runs, job leases, and the scheduler's own job store table."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum


class RunOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"  # the process died mid-run; its work was rolled back


class JobRun(Base):
    """One run of one job: written as 'running' first, closed in the work's own transaction."""

    __tablename__ = "job_runs"
    __table_args__ = (
        sa.Index("ix_job_runs_job_started", "job", "started_at"),
        sa.CheckConstraint(
            "(outcome = 'running') = (finished_at IS NULL)", name="finished_unless_running"
        ),
        {"comment": "Every run of a scheduled job, from the scheduler or the command line"},
    )

    id: Mapped[intpk]
    job: Mapped[str] = mapped_column(sa.String(64), comment="Name in app/jobs/registry.py")
    trigger: Mapped[str] = mapped_column(sa.String(16), comment="scheduler or cli")
    holder: Mapped[str] = mapped_column(sa.String(128), comment="Process that ran it: host:pid:id")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[RunOutcome] = mapped_column(
        str_enum(RunOutcome, "run_outcome"), default=RunOutcome.RUNNING
    )
    counts: Mapped[dict[str, Any]] = mapped_column(
        default=dict, comment="What the run did, e.g. {'batches': 3, 'lines': 1200}"
    )
    error: Mapped[str | None] = mapped_column(sa.Text, comment="Exception type and message")


class JobLease(Base):
    """Who may run a job (or be the scheduler) right now: a row per name, taken by a conditional
    UPDATE while it is free or expired, so two processes never hold it at once."""

    __tablename__ = "job_leases"
    __table_args__ = ({"comment": "Mutual exclusion of job runs and scheduler processes"},)

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(128), comment="Empty when free")
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="A holder that died frees the lease at this instant"
    )


#: APScheduler's SQLAlchemyJobStore table, declared here so the migration creates it (APScheduler
#: only creates a missing table) and the drift test covers it. Columns match APScheduler 3.
scheduler_jobs = sa.Table(
    "apscheduler_jobs",
    Base.metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True, comment="POSIX seconds"),
    sa.Column("job_state", sa.LargeBinary, nullable=False, comment="Pickled APScheduler job"),
    comment="APScheduler's job store: the schedule of each registered job",
)


class ExpiryNotice(Base):
    """A reminder in a resident's wallet that points expire soon, written by the reminder job.

    One per holder and expiry instant, so running the job again never repeats a reminder.
    """

    __tablename__ = "expiry_notices"
    __table_args__ = (
        sa.UniqueConstraint("holder_id", "expires_at"),
        {"comment": "Wallet reminders of points about to expire"},
    )

    id: Mapped[intpk]
    holder_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    points: Mapped[int] = mapped_column(
        sa.BigInteger, comment="Points that expire within the window, points"
    )
    expires_at: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="When the first of those points expire"
    )
    created_at: Mapped[created_at]
