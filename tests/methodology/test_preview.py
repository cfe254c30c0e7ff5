"""Impact previews: a draft replayed on the last 30 days beside the version in effect.

The counts, grams, points and the order of the largest differences are checked on a hand-built
month (``preview_support``) whose every figure is worked by hand.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from app.activities import preview
from app.activities.models import Activity
from app.errors import Conflict, DomainError
from app.jobs.models import JobRun
from app.jobs.runner import run_job
from app.ledger.models import Transaction
from app.ledger.policy import LedgerPolicy
from app.methodology import previews, services
from app.methodology.models import (
    MethodologyPreview,
    MethodologyVersion,
    PreviewStatus,
    VersionStatus,
)
from app.reductions.models import Reduction
from tests.methodology.preview_support import (
    CURRENT,
    DIFFERENCES,
    DRAFT,
    NOW,
    build_month,
    draft_of,
)
from tests.methodology.support import actor

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def month(app, session):
    return build_month(app, session)


def _request(session, month, **kwargs):
    bureau = month["bureau"]
    queued = previews.request_preview(
        session, actor(bureau.admin), bureau.plugins, month["draft"].id, now=NOW, **kwargs
    )
    session.commit()
    return queued


def _run_all(session, month, *, policy=None, chunk=preview.CHUNK):
    """Call the job's step until it says there is nothing left, committing each chunk."""
    policy = policy or LedgerPolicy(zone=ZONE)
    replay, steps = None, 0
    while True:
        replay, _counts, more = preview.step(
            session, replay, plugins=month["bureau"].plugins, policy=policy, now=NOW, chunk=chunk
        )
        session.commit()
        steps += 1
        if replay is None and not more:
            return steps


def test_the_preview_counts_the_hand_built_month(app, session, month):
    queued = _request(session, month)
    assert queued.status == PreviewStatus.QUEUED
    assert queued.window_from == NOW - previews_days()
    written_before = _counts(session)
    _run_all(session, month)
    session.refresh(queued)
    assert queued.status == PreviewStatus.SUCCEEDED
    result = queued.result
    assert {k: result["current"][k] for k in CURRENT} == CURRENT
    assert {k: result["draft"][k] for k in DRAFT} == DRAFT
    assert result["current"]["points"] == CURRENT["grams"]  # one point a gram by default
    assert result["draft"]["label"] == month["draft"].label
    assert result["current"]["label"] == "bus@1.0.0"
    assert (result["replayed"], result["skipped"]) == (6, 1)  # a7: a duplicate, not replayed
    assert (queued.processed, queued.total) == (7, 7)
    ids = {value: name for name, value in month["ids"].items()}
    assert [
        (ids[d["activity_id"]], d["current"]["grams"], d["draft"]["grams"])
        for d in result["differences"]
    ] == DIFFERENCES
    assert result["differences"][0]["current"]["outcome"] == "rejected"
    assert result["differences"][0]["draft"]["outcome"] == "credited"
    # Nothing but the preview was written: no reduction, no ledger transaction, no activity.
    assert _counts(session) == written_before


def previews_days():
    return timedelta(days=previews.PREVIEW_DAYS)


def _counts(session):
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Reduction, Transaction, Activity)
    )


def test_points_follow_the_ledger_policy_per_activity(app, session, month):
    queued = _request(session, month)
    _run_all(session, month, policy=LedgerPolicy(zone=ZONE, points_per_gram=Decimal("0.1")))
    session.refresh(queued)
    # Each activity's points are rounded down on their own, as the ledger issues them.
    assert queued.result["current"]["points"] == 26 + 80 + 100 + 26
    assert queued.result["draft"]["points"] == 53 + 150 + 96 + 150 + 53


def test_top_n_keeps_only_the_largest_differences(app, session, month, monkeypatch):
    monkeypatch.setattr(preview, "TOP_DIFFERENCES", 2)
    queued = _request(session, month)
    _run_all(session, month)
    session.refresh(queued)
    ids = {value: name for name, value in month["ids"].items()}
    assert [ids[d["activity_id"]] for d in queued.result["differences"]] == ["a5", "a2"]


@pytest.mark.parametrize("chunk", [1, 2, 6, 7])
def test_progress_is_committed_chunk_by_chunk_with_the_same_result(app, session, month, chunk):
    queued = _request(session, month)
    seen = []
    replay = None
    policy = LedgerPolicy(zone=ZONE)
    while True:
        replay, _counts, more = preview.step(
            session, replay, plugins=month["bureau"].plugins, policy=policy, now=NOW, chunk=chunk
        )
        session.commit()
        session.refresh(queued)
        seen.append((queued.status, queued.processed, queued.total))
        if replay is None and not more:
            break
    running = [processed for status, processed, _total in seen if status == PreviewStatus.RUNNING]
    assert running == list(range(chunk, 7, chunk))  # processed of 7, after each whole chunk
    assert all(total == 7 for _status, _processed, total in seen)
    assert queued.status == PreviewStatus.SUCCEEDED
    assert {k: queued.result["draft"][k] for k in DRAFT} == DRAFT
    assert {k: queued.result["current"][k] for k in CURRENT} == CURRENT


def test_asking_twice_reuses_the_queued_or_running_preview(app, session, month):
    first = _request(session, month)
    again = _request(session, month)
    assert again.id == first.id
    preview.step(
        session, None, plugins=month["bureau"].plugins, policy=LedgerPolicy(zone=ZONE),
        now=NOW, chunk=2,
    )  # fmt: skip
    session.commit()
    session.refresh(first)
    assert first.status == PreviewStatus.RUNNING and first.processed == 2
    assert _request(session, month).id == first.id
    assert session.scalar(sa.select(sa.func.count()).select_from(MethodologyPreview)) == 1


def test_a_preview_of_parameters_since_changed_is_superseded(app, session, month):
    first = _request(session, month)
    bureau, draft = month["bureau"], draft_of(session, month["draft"].id)
    changed = dict(draft.parameters) | {"max_speed_kmh": "150"}
    services.edit_draft(
        session, actor(bureau.reviewer), bureau.plugins, draft.id,
        parameters=changed, notes=dict(draft.parameter_notes) | {"max_speed_kmh": "test"},
    )  # fmt: skip
    session.commit()
    second = _request(session, month)
    session.refresh(first)
    assert second.id != first.id
    assert first.status == PreviewStatus.SUPERSEDED
    _run_all(session, month)
    session.refresh(first)
    session.refresh(second)
    assert first.result is None
    assert second.result["draft"]["flagged"] == 0  # a4 at 120 km/h is plausible now
    assert second.result["draft"]["credited"] == 6


def test_a_running_preview_left_by_a_dead_process_starts_again(app, session, month):
    queued = _request(session, month)
    preview.step(
        session, None, plugins=month["bureau"].plugins, policy=LedgerPolicy(zone=ZONE),
        now=NOW, chunk=3,
    )  # fmt: skip
    session.commit()
    session.refresh(queued)
    assert (queued.status, queued.processed) == (PreviewStatus.RUNNING, 3)
    _run_all(session, month)  # a new run carries no replay: the running one was orphaned
    session.refresh(queued)
    assert queued.status == PreviewStatus.SUCCEEDED
    assert {k: queued.result["draft"][k] for k in DRAFT} == DRAFT


def test_the_job_computes_waiting_previews(app, session, month):
    queued = _request(session, month)
    with app.app_context():
        assert preview.has_work(session)
        with time_machine.travel(NOW, tick=False):
            result = run_job("methodology-previews", trigger="cli")
    assert result is not None and result.counts == {"previews": 1, "activities": 7}
    session.refresh(queued)
    assert queued.status == PreviewStatus.SUCCEEDED
    assert {k: queued.result["draft"][k] for k in DRAFT} == DRAFT
    assert not preview.has_work(session)
    runs = session.scalars(sa.select(JobRun).where(JobRun.job == "methodology-previews")).all()
    assert len(runs) == 1


def test_an_uninstalled_plugin_is_refused_and_a_queued_preview_fails_readably(app, session, month):
    queued = _request(session, month)
    plugins = {code: cls for code, cls in month["bureau"].plugins.items() if code != "bus"}
    with pytest.raises(Conflict) as refused:
        previews.request_preview(
            session, actor(month["bureau"].admin), plugins, month["draft"].id, now=NOW
        )
    assert refused.value.reason == "methodology_not_installed"
    replay, counts, _more = preview.step(
        session, None, plugins=plugins, policy=LedgerPolicy(zone=ZONE), now=NOW
    )
    session.commit()
    session.refresh(queued)
    assert replay is None and counts["previews"] == 1
    assert queued.status == PreviewStatus.FAILED
    assert queued.error == {"code": "methodology_not_installed", "label": month["draft"].label}
    assert queued.result is None


def test_a_version_in_effect_whose_plugin_is_gone_leaves_the_draft_side(app, session, month):
    queued = _request(session, month)
    # The version in effect names a plugin release that is no longer installed here.
    session.execute(
        sa.text("UPDATE methodology_versions SET plugin_version = '0.9.0' WHERE id <> :id"),
        {"id": month["draft"].id},
    )
    session.commit()
    _run_all_with(session, month["bureau"].plugins)
    session.refresh(queued)
    assert queued.status == PreviewStatus.SUCCEEDED
    assert queued.result["current"] is None
    assert queued.result["current_error"] == {
        "code": "methodology_not_installed",
        "label": "bus@1.0.0",
    }
    assert {k: queued.result["draft"][k] for k in DRAFT} == DRAFT
    assert queued.result["differences"][0]["current"] is None


def _run_all_with(session, plugins):
    replay = None
    while True:
        replay, _counts, more = preview.step(
            session, replay, plugins=plugins, policy=LedgerPolicy(zone=ZONE), now=NOW
        )
        session.commit()
        if replay is None and not more:
            return


def test_a_draft_whose_parameters_no_longer_validate_says_so(app, session, month):
    queued = _request(session, month)
    session.execute(
        sa.update(MethodologyPreview)
        .where(MethodologyPreview.id == queued.id)
        .values(parameters={"baseline_g_per_pkm": "-1"})
    )
    session.commit()
    _run_all(session, month)
    session.refresh(queued)
    assert queued.status == PreviewStatus.FAILED
    assert queued.error["code"] == "invalid_parameters"
    assert "baseline_g_per_pkm" in queued.error["errors"]["parameters"]


def test_only_a_version_in_preparation_is_previewed(app, session, month):
    bureau = month["bureau"]
    in_effect = session.scalars(
        sa.select(MethodologyVersion).where(MethodologyVersion.status == VersionStatus.APPROVED)
    ).one()
    with pytest.raises(DomainError) as refused:
        previews.request_preview(
            session, actor(bureau.admin), bureau.plugins, in_effect.id, now=NOW
        )
    assert refused.value.reason == "not_in_preparation" and refused.value.status == 409
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(MethodologyPreview)) == 0


def test_the_scheduler_poll_starts_the_job_only_when_a_preview_waits(
    app, session, month, monkeypatch
):
    from app.jobs import scheduler

    monkeypatch.setattr(scheduler, "_app", app)
    runs = sa.select(sa.func.count()).select_from(JobRun)
    with time_machine.travel(NOW, tick=False):
        scheduler.run_if_due("methodology-previews")
        assert session.scalar(runs) == 0  # nothing waits: no run, no run record
        queued = _request(session, month)
        scheduler.run_if_due("methodology-previews")
    assert session.scalar(runs) == 1
    session.refresh(queued)
    assert queued.status == PreviewStatus.SUCCEEDED


def test_quantities_the_input_schema_refuses_are_rejected_under_both(app, session, month):
    session.execute(
        sa.update(Activity)
        .where(Activity.id == month["ids"]["a1"])
        .values(quantities={"distance_km": "far", "duration_minutes": "30"})
    )
    session.commit()
    queued = _request(session, month)
    _run_all(session, month)
    session.refresh(queued)
    result = queued.result
    assert result["current"]["rejected"] == CURRENT["rejected"] + 1
    assert result["draft"]["rejected"] == DRAFT["rejected"] + 1
    assert result["draft"]["credited"] == DRAFT["credited"] - 1
    ids = {d["activity_id"] for d in result["differences"]}
    assert month["ids"]["a1"] not in ids  # rejected under both: no difference


def test_a_trip_of_no_distance_is_no_reduction_under_both(app, session, month):
    """The pipeline's own outcome: it earns nothing, and is neither credited nor rejected."""
    session.execute(
        sa.update(Activity)
        .where(Activity.id == month["ids"]["a1"])
        .values(quantities={"distance_km": "0", "duration_minutes": "30"})
    )
    session.commit()
    queued = _request(session, month)
    _run_all(session, month)
    session.refresh(queued)
    result = queued.result
    assert result["draft"]["no_reduction"] == 1 and result["current"]["no_reduction"] == 1
    assert result["draft"]["credited"] == DRAFT["credited"] - 1
    assert result["draft"]["rejected"] == DRAFT["rejected"]


def test_with_no_version_in_effect_every_figure_is_new(app, session, month):
    versions = MethodologyVersion.__table__
    session.execute(
        sa.update(versions)
        .where(versions.c.status == VersionStatus.APPROVED)
        .values(effective_from=NOW + timedelta(days=1))
    )
    session.commit()
    queued = _request(session, month)
    _run_all(session, month)
    session.refresh(queued)
    assert queued.result["current"] is None and queued.result["current_error"] is None
    # Every replayed activity is new, the flagged one (0 g) last.
    assert [d["current"] for d in queued.result["differences"]] == [None] * 6
    assert queued.result["differences"][-1]["draft"] == {"outcome": "flagged", "grams": 0}
    assert queued.result["differences"][0]["difference_g"] == 1500
