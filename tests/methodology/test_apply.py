"""Applying the version in effect to activities, storing reductions, and recomputing them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import event

from app.accounts.roles import Role
from app.errors import DomainError
from app.methodology import services
from app.methodology.apply import VersionResolver, apply
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction, ReductionStatus
from app.reductions.services import Recomputation, record_reduction, reduction_row
from tests.factories import make_user
from tests.methodology.support import DURING, NOW_AFTER_START, START, Bureau, actor


@pytest.fixture
def bureau(app, session):
    return Bureau(app, session)


@pytest.fixture
def resident(session):
    return make_user(session, Role.RESIDENT)


def run(bureau, kind, quantities, *, at=DURING, self_reported=False):
    return apply(
        bureau.session,
        bureau.plugins,
        kind=kind,
        quantities_raw=quantities,
        occurred_at=at,
        self_reported=self_reported,
    )


def refused(reason, call, *args, **kwargs):
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.reason == reason, caught.value.reason
    return caught.value


def test_each_builtin_applies_through_the_service_and_recomputes(bureau, resident, session):
    for code in bureau.plugins:
        bureau.approved(code)
    for code, plugin in bureau.plugins.items():
        applied = run(bureau, plugin.activity_kind, dict(plugin.example))
        params = plugin.load_parameters(plugin.default_parameters())
        expected = plugin.quantify(
            plugin.build_activity(plugin.example, DURING), params, explain=True
        )
        assert (applied.code, applied.version, applied.label) == (code, "1.0.0", f"{code}@1.0.0")
        assert applied.parameters == plugin.default_parameters()
        assert plugin.load_quantities(applied.quantities) == plugin.load_quantities(plugin.example)
        assert applied.quantification == expected
        assert applied.quantification.trace is not None
        assert applied.daily_cap_g == plugin.daily_cap_g(params)
        status = ReductionStatus.REJECTED if applied.rejected else ReductionStatus.VERIFIED
        reduction = record_reduction(session, resident.id, applied, status)
        assert reduction.reduction_g == expected.reduction_g
        assert reduction.trace == {"zh": expected.trace.zh, "en": expected.trace.en}
    assert list(Recomputation(session, bureau.plugins)) == []


def test_the_version_in_effect_at_the_time_is_used(bureau):
    with time_machine.travel(NOW_AFTER_START, tick=False):
        first = bureau.approved("bus", effective_from=START)
        second = bureau.draft("bus", copy_from=first.id)
        services.edit_draft(
            bureau.session,
            actor(bureau.reviewer),
            bureau.plugins,
            second.id,
            parameters={"baseline_g_per_pkm": "30"},
            notes={"baseline_g_per_pkm": "2026 fleet"},
        )
        services.submit(bureau.session, actor(bureau.reviewer), bureau.plugins, second.id)
        switch = NOW_AFTER_START + timedelta(days=1)
        services.approve(
            bureau.session,
            actor(bureau.admin),
            bureau.plugins,
            second.id,
            effective_from=switch,
            comment="New factor.",
        )
    ride = {"distance_km": "10.0"}
    before = run(bureau, "bus_ride", ride, at=switch - timedelta(seconds=1))
    after = run(bureau, "bus_ride", ride, at=switch)
    assert (before.version_id, before.quantification.reduction_g) == (first.id, 269)
    assert (after.version_id, after.quantification.reduction_g) == (second.id, 300)
    assert after.parameters["baseline_g_per_pkm"] == "30"


def test_self_reported_activities_count_at_the_self_report_weight(bureau):
    bureau.approved("bus")
    operator = run(bureau, "bus_ride", {"distance_km": "10.0"})
    self_reported = run(bureau, "bus_ride", {"distance_km": "10.0"}, self_reported=True)
    assert operator.quantification.reduction_g == 269
    assert self_reported.quantification.reduction_g == 135  # 134.5 rounds half up
    assert self_reported.self_reported


@pytest.mark.parametrize(
    ("kind", "quantities", "field"),
    [
        ("bus_ride", {"distance_km": "-3"}, "distance_km"),
        (
            "electricity_use",
            {
                "period_start": "2026-02-01",
                "period_end": "2026-02-28",
                "baseline_kwh": "300",
                "consumed_kwh": "lots",
            },
            "consumed_kwh",
        ),
        ("recycling_weigh_in", {"kg": "2"}, "material"),
        ("recycling_weigh_in", {"material": "uranium", "kg": "2"}, "material"),
        ("bus_ride", {"distance_km": "3", "colour": "green"}, "colour"),
    ],
    ids=["negative-km", "kwh-as-text", "missing-material", "unknown-material", "unknown-field"],
)
def test_quantities_that_fail_the_input_schema_name_the_field(bureau, kind, quantities, field):
    for code in ("bus", "electricity", "recycling"):
        bureau.approved(code)
    error = refused("invalid_quantities", run, bureau, kind, quantities)
    assert field in error.errors()["quantities"]
    assert error.status == 422


def test_unknown_kind_and_activities_before_any_version_are_refused(bureau):
    refused("unknown_activity_kind", run, bureau, "teleport", {"distance_km": "1"})
    error = refused("no_version_in_effect", run, bureau, "bus_ride", {"distance_km": "1"})
    assert error.field == "occurred_at"
    bureau.approved("bus", effective_from=START)
    refused(
        "no_version_in_effect",
        run,
        bureau,
        "bus_ride",
        {"distance_km": "1"},
        at=START - timedelta(microseconds=1),
    )
    refused(
        "invalid_occurred_at",
        run,
        bureau,
        "bus_ride",
        {"distance_km": "1"},
        at=DURING.replace(tzinfo=None),
    )


def test_an_upgraded_plugin_does_not_compute_for_a_version_of_older_software(bureau, app):
    version = bureau.approved("bus")
    bureau.session.execute(
        sa.update(MethodologyVersion)
        .where(MethodologyVersion.id == version.id)
        .values(plugin_version="0.9.0")
    )  # an older software release approved earlier
    refused("methodology_not_installed", run, bureau, "bus_ride", {"distance_km": "1"})


def test_rejected_activities_are_stored_as_rejected_only(bureau, resident, session):
    bureau.approved("bus")
    too_long = run(bureau, "bus_ride", {"distance_km": "90"})
    assert too_long.rejected
    assert [f.code for f in too_long.findings] == ["longer_than_longest_route"]
    with pytest.raises(ValueError, match="store it as rejected"):
        record_reduction(session, resident.id, too_long, ReductionStatus.VERIFIED)
    stored = record_reduction(session, resident.id, too_long, ReductionStatus.REJECTED)
    assert stored.findings[0]["code"] == "longer_than_longest_route"
    assert stored.verified_at is None


def test_an_activity_with_nothing_to_measure_is_not_a_reduction(bureau, resident, session):
    bureau.approved("bus")
    unknown_pair = run(bureau, "bus_ride", {"from_station": "南门", "to_station": "火星"})
    assert unknown_pair.quantification is None
    assert unknown_pair.rejected
    refused(
        "not_quantifiable",
        record_reduction,
        session,
        resident.id,
        unknown_pair,
        ReductionStatus.REJECTED,
    )


def test_a_batch_costs_one_query_however_many_activities(bureau, resident, session):
    bureau.approved("bus")
    bureau.approved("recycling")
    statements = []

    def count(*_args):
        statements.append(1)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        resolver = VersionResolver(session, bureau.plugins)
        applied = [
            resolver.apply(
                kind=kind,
                quantities_raw=quantities,
                occurred_at=DURING + timedelta(minutes=i),
                self_reported=False,
            )
            for i in range(200)
            for kind, quantities in (
                ("bus_ride", {"distance_km": f"{1 + i % 20}.5"}),
                ("recycling_weigh_in", {"material": "glass", "kg": "1.25"}),
            )
        ]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    rows = [reduction_row(resident.id, item, ReductionStatus.VERIFIED) for item in applied]
    session.execute(sa.insert(Reduction), rows)
    stored = session.scalar(sa.select(sa.func.sum(Reduction.reduction_g)))
    assert stored == sum(item.quantification.reduction_g for item in applied)
    run_ = Recomputation(session, bureau.plugins, batch_size=50)
    assert list(run_) == []
    assert run_.checked == 400


def test_quantities_are_stored_as_reported(bureau, resident, session):
    bureau.approved("bus")
    applied = run(bureau, "bus_ride", {"distance_km": 8.20, "duration_minutes": "25"})
    assert applied.quantities == {"distance_km": "8.2", "duration_minutes": "25"}
    exact = run(bureau, "bus_ride", {"distance_km": "8.20"})
    assert exact.quantities == {"distance_km": "8.20"}
    assert Decimal(exact.quantities["distance_km"]) == Decimal("8.2")
