"""What waits for the bureau, and how the scheduled jobs have been doing: the console's home.

Each queue is counted with one query, so the home page answers quickly however long a queue
grows; only the queues the signed-in person may work are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.accounts.models import ApprovalRequest, ApprovalStatus, Organisation, Verification
from app.activities.models import Activity, ActivityStatus
from app.filings.models import BatchStatus, ClaimStatus, FilingBatch, OffsetClaim
from app.jobs.models import JobRun, RunOutcome
from app.jobs.registry import JOBS
from app.merchants.models import Merchant, MerchantStatus, Offer, OfferStatus
from app.methodology.models import MethodologyVersion, VersionStatus
from app.roles import Permission


@dataclass(frozen=True, slots=True)
class Queue:
    """One kind of work waiting: how many, where to do it, who may."""

    key: str
    label: Any
    endpoint: str
    permission: Permission
    count: sa.ScalarSelect[int]


def _count(model: Any, *where: Any) -> sa.ScalarSelect[int]:
    return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()


def _queues() -> tuple[Queue, ...]:
    return (
        Queue("versions", _l("Methodology versions to approve"),
              "bureau_methodologies.pending", Permission.APPROVE_METHODOLOGY,
              _count(MethodologyVersion, MethodologyVersion.status == VersionStatus.SUBMITTED)),
        Queue("activities", _l("Activities to review"), "activities.review_queue",
              Permission.REVIEW, _count(Activity, Activity.status == ActivityStatus.FLAGGED)),
        Queue("merchants", _l("Merchants to decide"), "bureau_merchants.merchants",
              Permission.APPROVE_MERCHANTS,
              _count(Merchant, Merchant.status == MerchantStatus.PENDING)),
        Queue("offers", _l("Offers to decide"), "bureau_merchants.pending_offers",
              Permission.APPROVE_MERCHANTS, _count(Offer, Offer.status == OfferStatus.PENDING)),
        Queue("filings", _l("Filing batches to sign"), "filings_bureau.index",
              Permission.MANAGE_FILINGS,
              _count(FilingBatch, FilingBatch.status == BatchStatus.DRAFT)),
        Queue("claims", _l("Offset requests to decide"), "filings_claims.claims_queue",
              Permission.DECIDE_OFFSET_CLAIMS,
              _count(OffsetClaim, OffsetClaim.status == ClaimStatus.REQUESTED)),
        Queue("organisations", _l("Organisations to verify"), "filings_claims.organisations",
              Permission.VERIFY_ORGANISATIONS,
              _count(Organisation, Organisation.verification == Verification.PENDING)),
        Queue("approvals", _l("Requests for a second admin"), "bureau_approvals.approvals_page",
              Permission.MANAGE_STAFF,
              _count(ApprovalRequest, ApprovalRequest.status == ApprovalStatus.PENDING)),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Waiting:
    key: str
    label: Any
    endpoint: str
    count: int


def waiting(session: Session, may: Any) -> list[Waiting]:
    """The queues ``may(permission)`` allows, each with how many items wait in it."""
    queues = [queue for queue in _queues() if may(queue.permission)]
    if not queues:
        return []
    counts = session.execute(sa.select(*(queue.count for queue in queues))).one()
    return [
        Waiting(queue.key, queue.label, queue.endpoint, int(count))
        for queue, count in zip(queues, counts, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class JobHealth:
    """A job's latest run, or None if it never ran."""

    name: str
    description: str
    outcome: RunOutcome | None
    started_at: datetime | None
    failed_recently: int


def job_health(session: Session, since: datetime) -> list[JobHealth]:
    """Every registered job's latest run and how many of its runs failed since ``since``."""
    latest = (
        sa.select(JobRun.job, sa.func.max(JobRun.id).label("run_id"))
        .group_by(JobRun.job)
        .subquery()
    )
    last = {
        run.job: run
        for run in session.scalars(sa.select(JobRun).join(latest, JobRun.id == latest.c.run_id))
    }
    failures = dict(
        session.execute(
            sa.select(JobRun.job, sa.func.count())
            .where(
                JobRun.started_at >= since,
                JobRun.outcome.in_([RunOutcome.FAILED, RunOutcome.ABANDONED]),
            )
            .group_by(JobRun.job)
        ).all()
    )
    return [
        JobHealth(
            name,
            job.description,
            last[name].outcome if name in last else None,
            last[name].started_at if name in last else None,
            int(failures.get(name, 0)),
        )
        for name, job in JOBS.items()
    ]
