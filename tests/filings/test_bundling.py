"""Bundling: monthly batches per methodology version in the city's time zone, idempotent runs, a
reduction in at most one live batch, and nothing left behind by a run that fails midway."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
import time_machine

from app.accounts.roles import Role
from app.audit.services import Actor
from app.filings import bundling, package, services
from app.filings.models import BatchStatus, FilingBatch, FilingLine
from app.jobs.models import JobRun, RunOutcome
from app.jobs.runner import run_job
from app.reductions.models import ReductionStatus
from tests.factories import make_user
from tests.filings.support import SETTINGS, count, make_reduction, make_version, shanghai


def test_monthly_bundling_cuts_at_the_shanghai_month_boundary(app, session):
    version = make_version(session)
    resident, other = make_user(session), make_user(session)
    last_of_november = make_reduction(session, version, resident, shanghai(2026, 11, 30, 23, 59))
    first_of_december = make_reduction(session, version, other, shanghai(2026, 12, 1, 0, 0, 30))
    make_reduction(session, version, other, shanghai(2026, 11, 15, 8), km="3")
    make_reduction(session, version, other, shanghai(2026, 11, 16), status=ReductionStatus.PENDING)
    session.commit()

    with time_machine.travel(shanghai(2026, 12, 1, 2, 0), tick=False), app.app_context():
        result = run_job("bundle-filings", trigger="cli")

    assert result is not None and result.outcome is RunOutcome.SUCCEEDED
    assert result.counts["batches"] == 1 and result.counts["lines"] == 2
    batch = session.scalars(sa.select(FilingBatch)).one()
    assert (batch.period_start.isoformat(), batch.period_end.isoformat()) == (
        "2026-11-01",
        "2026-12-01",
    )
    assert batch.serial == f"TPH-202611-{batch.id:06d}"
    assert (batch.activities, batch.participants) == (2, 2)
    lines = set(session.scalars(sa.select(FilingLine.reduction_id)))
    assert last_of_november.id in lines and first_of_december.id not in lines
    assert batch.total_g == sum(line.reduction_g for line in session.scalars(sa.select(FilingLine)))
    manifest = json.loads(batch.manifest)
    assert manifest["total_tonnes"] == str(package.tonnes(batch.total_g))
    assert manifest["methodology"]["parameters"] == version.parameters
    assert manifest["root_hash"] == batch.root_hash
    assert "取整规则" in batch.summary_html


def test_a_second_run_finds_nothing_and_a_rejection_releases_the_reductions(app, session):
    version = make_version(session)
    resident = make_user(session)
    for day in (3, 4, 5):
        make_reduction(session, version, resident, shanghai(2026, 10, day, 9))
    session.commit()
    with time_machine.travel(shanghai(2026, 11, 2), tick=False), app.app_context():
        first = run_job("bundle-filings", trigger="cli")
        again = run_job("bundle-filings", trigger="cli")
    assert first.counts["batches"] == 1 and again.counts["batches"] == 0

    batch = session.scalars(sa.select(FilingBatch)).one()
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    services.reject(session, Actor(reviewer.id, reviewer.role), batch.id, reason="wrong month")
    session.commit()
    assert count(session, FilingLine, FilingLine.active.is_(True)) == 0

    with time_machine.travel(shanghai(2026, 11, 3), tick=False), app.app_context():
        later = run_job("bundle-filings", trigger="cli")
    assert later.counts == {"batches": 1, "lines": 3, "grams": batch.total_g}
    statuses = sorted(b.status for b in session.scalars(sa.select(FilingBatch)))
    assert statuses == sorted([BatchStatus.REJECTED, BatchStatus.DRAFT])


def test_the_database_refuses_a_reduction_in_two_live_batches(app, session):
    version = make_version(session)
    reduction = make_reduction(session, version, make_user(session), shanghai(2026, 9, 9))
    batch = bundling.bundle_month(session, SETTINGS, version.id, reduction.occurred_at.date())
    assert batch is not None
    second = bundling.bundle_month(session, SETTINGS, version.id, reduction.occurred_at.date())
    assert second is None  # nothing free is left to bundle
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(
            sa.insert(FilingLine).values(
                batch_id=batch.id, reduction_id=reduction.id, reduction_g=1, active=True
            )
        )


def test_a_run_that_fails_midway_leaves_no_partial_batch(app, session, monkeypatch):
    version = make_version(session)
    resident = make_user(session)
    for hour in (8, 9, 10):
        make_reduction(session, version, resident, shanghai(2026, 8, 20, hour))
    session.commit()

    def crash(*_args: object) -> bytes:
        raise RuntimeError("disk full while writing the summary")

    monkeypatch.setattr(package, "summary_html", crash)
    with time_machine.travel(shanghai(2026, 9, 1, 2), tick=False), app.app_context():
        failed = run_job("bundle-filings", trigger="cli")
    assert failed.outcome is RunOutcome.FAILED and "disk full" in failed.error
    assert count(session, FilingBatch) == 0 and count(session, FilingLine) == 0

    monkeypatch.undo()
    with time_machine.travel(shanghai(2026, 9, 1, 3), tick=False), app.app_context():
        retried = run_job("bundle-filings", trigger="cli")
    assert retried.outcome is RunOutcome.SUCCEEDED and retried.counts["lines"] == 3
    outcomes = [run.outcome for run in session.scalars(sa.select(JobRun).order_by(JobRun.id))]
    assert outcomes == [RunOutcome.FAILED, RunOutcome.SUCCEEDED]


def test_the_bundling_command_prints_the_serials_it_made(app, session):
    version = make_version(session)
    resident = make_user(session)
    make_reduction(session, version, resident, shanghai(2026, 9, 9, 9))
    make_reduction(session, version, resident, shanghai(2026, 10, 3, 9))
    session.commit()
    runner = app.test_cli_runner()
    with time_machine.travel(shanghai(2026, 11, 2), tick=False):
        first = runner.invoke(args=["jobs", "bundle-filings"])
        again = runner.invoke(args=["jobs", "bundle-filings"])
    serials = list(session.scalars(sa.select(FilingBatch.serial).order_by(FilingBatch.id)))
    assert len(serials) == 2
    assert first.exit_code == 0, first.output
    assert [line for line in first.output.splitlines() if line.startswith("batch ")] == [
        f"batch {serial}" for serial in serials
    ]
    assert again.exit_code == 0 and "batch " not in again.output
