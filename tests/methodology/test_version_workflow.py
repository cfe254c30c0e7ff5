"""The bureau's workflow: four eyes, immutability, effective dates, supersession, retirement."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.errors import DomainError
from app.methodology import services
from app.methodology.models import ApprovedVersionIsImmutable, MethodologyVersion, VersionStatus
from tests.methodology.support import DURING, NOW_AFTER_START, START, Bureau, actor

NOW = NOW_AFTER_START


@pytest.fixture
def bureau(app, session):
    return Bureau(app, session)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def audit_actions(session, version_id):
    return session.scalars(
        sa.select(AuditEntry.action)
        .where(
            AuditEntry.object_type == "methodology_version",
            AuditEntry.object_id == str(version_id),
        )
        .order_by(AuditEntry.id)
    ).all()


def refused(reason, call, *args, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.reason == reason, caught.value.reason
    return caught.value


# --- drafts ---------------------------------------------------------------------------------------


def test_a_draft_starts_from_the_plugins_defaults(bureau):
    draft = bureau.draft("bus")
    plugin = bureau.plugins["bus"]
    assert draft.status == VersionStatus.DRAFT
    assert (draft.version, draft.plugin_version, draft.revision) == ("1.0.0", "1.0.0", 1)
    assert draft.label == "bus@1.0.0"
    assert draft.parameters == plugin.default_parameters()
    assert draft.activity_kind == "bus_ride"
    assert audit_actions(bureau.session, draft.id) == ["methodology.register"]


def test_only_one_version_of_a_methodology_is_prepared_at_a_time(bureau):
    draft = bureau.draft("bus")
    error = refused("draft_exists", bureau.draft, "bus")
    assert error.details["version_id"] == draft.id
    bureau.draft("metro")  # another methodology is independent


def test_editing_a_draft_validates_through_the_schema_and_needs_a_source(bureau):
    draft = bureau.draft("bus")
    session = bureau.session
    edited = services.edit_draft(
        session,
        actor(bureau.reviewer),
        bureau.plugins,
        draft.id,
        parameters={"baseline_g_per_pkm": "31.5", "station_km": {"南门~鼓楼": "2.4"}},
        notes={"baseline_g_per_pkm": "Yinchuan bus company 2025 fleet data", "station_km": "BRT"},
    )
    assert edited.parameters["baseline_g_per_pkm"] == "31.5"
    assert edited.parameters["station_km"] == {"南门~鼓楼": "2.4"}
    assert edited.parameter_notes["baseline_g_per_pkm"] == "Yinchuan bus company 2025 fleet data"
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "methodology.edit")
    ).one()
    assert entry.summary["changes"]["baseline_g_per_pkm"] == ["26.9", "31.5"]

    # A changed value without a note, a value outside its bounds, an unknown name: nothing changes.
    error = refused(
        "invalid_parameters",
        services.edit_draft,
        session,
        actor(bureau.reviewer),
        bureau.plugins,
        draft.id,
        parameters={"max_speed_kmh": "80"},
    )
    assert "max_speed_kmh" in error.errors()["notes"]
    error = refused(
        "invalid_parameters",
        services.edit_draft,
        session,
        actor(bureau.reviewer),
        bureau.plugins,
        draft.id,
        parameters={"self_report_weight": "1.5", "bogus": "1"},
    )
    assert set(error.errors()["parameters"]) == {"self_report_weight", "bogus"}
    assert "self_report_weight" in str(error.message)
    session.refresh(draft)
    assert draft.parameters["self_report_weight"] == "0.5"
    assert draft.parameters["max_speed_kmh"] == "60"


def test_a_note_can_be_removed_only_when_the_value_is_back_to_default(bureau):
    draft = bureau.draft("walking")
    plugin = bureau.plugins["walking"]
    name = next(iter(plugin.default_parameters()))
    default = plugin.default_parameters()[name]
    changed = "1" if default != "1" else "2"
    session, reviewer = bureau.session, actor(bureau.reviewer)
    services.edit_draft(
        session,
        reviewer,
        bureau.plugins,
        draft.id,
        parameters={name: changed},
        notes={name: "survey"},
    )
    refused(
        "invalid_parameters",
        services.edit_draft,
        session,
        reviewer,
        bureau.plugins,
        draft.id,
        notes={name: ""},
    )
    services.edit_draft(
        session, reviewer, bureau.plugins, draft.id, parameters={name: default}, notes={name: ""}
    )
    assert name not in draft.parameter_notes


def test_a_submitted_version_is_no_longer_editable(bureau):
    version = bureau.submitted("bus")
    assert version.status == VersionStatus.SUBMITTED
    assert version.submitted_by_id == bureau.reviewer.id
    refused(
        "version_not_draft",
        services.edit_draft,
        bureau.session,
        actor(bureau.reviewer),
        bureau.plugins,
        version.id,
        parameters={"max_speed_kmh": "61"},
        notes={"max_speed_kmh": "x"},
    )
    refused(
        "version_not_draft",
        services.submit,
        bureau.session,
        actor(bureau.reviewer),
        bureau.plugins,
        version.id,
    )


def test_the_system_cannot_submit_or_approve(bureau):
    draft = bureau.draft("bus")
    refused("person_required", services.submit, bureau.session, SYSTEM, bureau.plugins, draft.id)


# --- four eyes ------------------------------------------------------------------------------------


def test_an_admin_cannot_approve_or_reject_their_own_submission(bureau):
    session = bureau.session
    draft = services.register_draft(session, actor(bureau.admin), bureau.plugins["bus"])
    services.submit(session, actor(bureau.admin), bureau.plugins, draft.id)
    for call, kwargs in (
        (services.approve, {"effective_from": START, "comment": "ok"}),
        (services.reject, {"comment": "no"}),
    ):
        args = (session, actor(bureau.admin))
        if call is services.approve:
            args = (*args, bureau.plugins)
        error = refused("four_eyes", call, *args, draft.id, **kwargs)
        assert isinstance(error, services.AuditedRefusal)
        assert error.status == 403
    assert draft.status == VersionStatus.SUBMITTED
    refusals = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "methodology.decision_refused")
    ).all()
    assert [(entry.actor_id, entry.summary["decision"]) for entry in refusals] == [
        (bureau.admin.id, "approve"),
        (bureau.admin.id, "reject"),
    ]
    approved = services.approve(
        session,
        actor(bureau.other_admin),
        bureau.plugins,
        draft.id,
        effective_from=START,
        comment="Checked against the published sources.",
    )
    assert approved.decided_by_id == bureau.other_admin.id


def test_the_database_refuses_an_approver_who_submitted(bureau, session):
    version = bureau.submitted("bus")
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(
            sa.update(MethodologyVersion)
            .where(MethodologyVersion.id == version.id)
            .values(
                status="approved",
                decided_by_id=bureau.reviewer.id,
                effective_from=START,
            )
        )


def test_every_step_is_audited(bureau):
    version = bureau.approved("bus")
    services.retire(bureau.session, actor(bureau.admin), version.id, comment="Replaced by law.")
    assert audit_actions(bureau.session, version.id) == [
        "methodology.register",
        "methodology.submit",
        "methodology.approve",
        "methodology.retire",
    ]


def test_rejection_needs_a_comment_and_a_copy_starts_the_next_parameter_set(bureau):
    session = bureau.session
    version = bureau.submitted("bus")
    refused(
        "comment_required", services.reject, session, actor(bureau.admin), version.id, comment="  "
    )
    services.reject(session, actor(bureau.admin), version.id, comment="Cite the 2025 factor.")
    assert version.status == VersionStatus.REJECTED
    assert version.decision_comment == "Cite the 2025 factor."
    refused(
        "version_not_submitted",
        services.approve,
        session,
        actor(bureau.other_admin),
        bureau.plugins,
        version.id,
        effective_from=START,
        comment="ok",
    )

    again = bureau.draft("bus", copy_from=version.id)
    assert (again.version, again.revision) == ("1.0.0-p2", 2)
    assert again.parameters == version.parameters


# --- immutability ---------------------------------------------------------------------------------


def test_an_approved_version_never_changes(bureau, session):
    version = bureau.approved("bus")
    refused(
        "version_immutable",
        services.edit_draft,
        session,
        actor(bureau.reviewer),
        bureau.plugins,
        version.id,
        parameters={"baseline_g_per_pkm": "30"},
        notes={"baseline_g_per_pkm": "x"},
    )
    refused(
        "version_immutable",
        services.submit,
        session,
        actor(bureau.reviewer),
        bureau.plugins,
        version.id,
    )
    assert version.parameters["baseline_g_per_pkm"] == "26.9"


@pytest.mark.parametrize(
    "change",
    [
        lambda v: setattr(v, "parameters", {**v.parameters, "baseline_g_per_pkm": "30"}),
        lambda v: setattr(v, "effective_from", v.effective_from + timedelta(days=1)),
        lambda v: setattr(v, "status", VersionStatus.DRAFT),
        lambda v: setattr(v, "effective_until", None),
        lambda v: setattr(v, "decision_comment", "edited later"),
    ],
    ids=["parameters", "start", "status", "reopen", "comment"],
)
def test_the_orm_refuses_to_flush_a_changed_approved_version(bureau, session, change):
    version = bureau.approved("bus")
    version.effective_until = NOW + timedelta(days=30)
    session.flush()  # shortening the interval is allowed
    change(version)
    with pytest.raises(ApprovedVersionIsImmutable):
        session.flush()
    session.rollback()


def test_the_orm_refuses_to_delete_an_approved_version(bureau, session):
    version = bureau.approved("bus")
    session.delete(version)
    with pytest.raises(ApprovedVersionIsImmutable):
        session.flush()
    session.rollback()


# --- effective dates and supersession ------------------------------------------------------------


def test_the_version_in_effect_follows_the_dates(bureau, session):
    version = bureau.approved("bus", effective_from=START)
    assert services.version_in_effect(session, "bus", START - timedelta(microseconds=1)) is None
    assert services.version_in_effect(session, "bus", START) == version
    assert services.version_in_effect(session, "bus", DURING) == version
    assert services.version_in_effect(session, "metro", DURING) is None


def test_a_newer_version_supersedes_the_older_from_its_start(bureau, session):
    first = bureau.approved("bus", effective_from=START)
    switch = NOW + timedelta(days=10)
    second = bureau.approved("bus", effective_from=switch, copy_from=first.id)
    assert second.version == "1.0.0-p2"
    assert first.status == VersionStatus.APPROVED
    assert first.effective_until == switch
    assert second.effective_until is None
    assert services.version_in_effect(session, "bus", switch - timedelta(microseconds=1)) == first
    assert services.version_in_effect(session, "bus", switch) == second
    summary = session.scalars(
        sa.select(AuditEntry.summary).where(
            AuditEntry.action == "methodology.approve", AuditEntry.object_id == str(second.id)
        )
    ).one()
    assert summary["supersedes"] == "bus@1.0.0"


@pytest.mark.parametrize("offset", [timedelta(0), -timedelta(days=1)], ids=["same", "earlier"])
def test_two_versions_are_never_in_effect_at_the_same_instant(bureau, session, offset):
    first = bureau.approved("bus", effective_from=START)
    second = bureau.submitted("bus")
    error = refused(
        "overlapping_versions",
        services.approve,
        session,
        actor(bureau.admin),
        bureau.plugins,
        second.id,
        effective_from=START + offset,
        comment="ok",
    )
    assert error.field == "effective_from"
    assert error.details["conflicts_with"] == first.id
    assert second.status == VersionStatus.SUBMITTED
    assert first.effective_until is None


def test_a_successor_cannot_start_in_the_past_over_a_crediting_version(bureau, session):
    bureau.approved("bus", effective_from=START)
    second = bureau.submitted("bus")
    error = refused(
        "effective_in_past",
        services.approve,
        session,
        actor(bureau.admin),
        bureau.plugins,
        second.id,
        effective_from=NOW - timedelta(days=1),
        comment="ok",
    )
    assert error.field == "effective_from"


def test_approval_needs_an_aware_start(bureau, session):
    version = bureau.submitted("bus")
    refused(
        "invalid_effective_from",
        services.approve,
        session,
        actor(bureau.admin),
        bureau.plugins,
        version.id,
        effective_from=datetime(2026, 7, 1),
        comment="ok",
    )


def test_the_database_allows_one_open_ended_version_per_methodology(bureau, session):
    bureau.approved("bus", effective_from=START)
    other = bureau.submitted("bus")
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(
            sa.update(MethodologyVersion)
            .where(MethodologyVersion.id == other.id)
            .values(status="approved", decided_by_id=bureau.admin.id, effective_from=NOW)
        )


# --- retirement -----------------------------------------------------------------------------------


def test_retiring_ends_the_version_now_and_keeps_its_past(bureau, session):
    version = bureau.approved("bus", effective_from=START)
    refused(
        "comment_required", services.retire, session, actor(bureau.admin), version.id, comment=""
    )
    services.retire(session, actor(bureau.admin), version.id, comment="No longer valid.")
    assert version.status == VersionStatus.RETIRED
    assert (version.effective_until, version.retired_at) == (NOW, NOW)
    assert version.retired_by_id == bureau.admin.id
    assert services.version_in_effect(session, "bus", NOW) is None
    assert services.version_in_effect(session, "bus", DURING) == version
    refused(
        "version_not_approved",
        services.retire,
        session,
        actor(bureau.admin),
        version.id,
        comment="again",
    )


def test_a_version_retired_before_its_start_never_takes_effect(bureau, session):
    later = NOW + timedelta(days=20)
    version = bureau.approved("bus", effective_from=later)
    services.retire(session, actor(bureau.admin), version.id, comment="Withdrawn.")
    assert version.effective_until == version.effective_from == later
    assert services.version_in_effect(session, "bus", later) is None
    # The withdrawn interval does not block a new version in its place.
    replacement = bureau.approved("bus", effective_from=NOW + timedelta(days=5))
    assert services.version_in_effect(session, "bus", later) == replacement


def test_after_retirement_a_new_version_may_start_after_the_end(bureau, session):
    version = bureau.approved("bus", effective_from=START)
    services.retire(session, actor(bureau.admin), version.id, comment="Paused.")
    second = bureau.submitted("bus")
    refused(
        "overlapping_versions",
        services.approve,
        session,
        actor(bureau.admin),
        bureau.plugins,
        second.id,
        effective_from=NOW - timedelta(hours=1),
        comment="ok",
    )
    services.approve(
        session,
        actor(bureau.admin),
        bureau.plugins,
        second.id,
        effective_from=NOW,
        comment="Resumed.",
    )
    assert services.version_in_effect(session, "bus", NOW) == second


def test_retiring_a_superseded_version_keeps_the_successor_in_place(bureau, session):
    first = bureau.approved("bus", effective_from=START)
    switch = NOW + timedelta(days=3)
    bureau.approved("bus", effective_from=switch)
    services.retire(session, actor(bureau.admin), first.id, comment="Ends early.")
    assert first.effective_until == NOW
    assert services.version_in_effect(session, "bus", NOW + timedelta(days=1)) is None


# --- registering what is installed ----------------------------------------------------------------


def test_sync_registers_each_installed_plugin_version_once(bureau, session):
    bureau.draft("bus")
    made, skipped = services.sync_drafts(session, bureau.plugins)
    assert {version.code for version in made} == set(bureau.plugins) - {"bus"}
    assert skipped == []
    assert all(version.created_by_id is None for version in made)
    assert services.sync_drafts(session, bureau.plugins) == ([], [])
