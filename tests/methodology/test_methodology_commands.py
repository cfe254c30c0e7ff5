"""The commands: ``tanpuhui recompute`` and ``tanpuhui methodologies register``; demo data."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import context as app_context
from app.accounts.roles import Role
from app.methodology import services
from app.methodology.apply import VersionResolver
from app.methodology.models import MethodologyVersion, VersionStatus
from app.reductions.models import Reduction, ReductionStatus
from app.reductions.services import record_reduction
from tests.factories import make_user
from tests.methodology.support import DURING, Bureau


@pytest.fixture
def stored(app, session):
    """Three verified reductions of two methodologies."""
    bureau = Bureau(app, session)
    bureau.approved("bus")
    bureau.approved("recycling")
    resident = make_user(session, Role.RESIDENT)
    resolver = VersionResolver(session, bureau.plugins)
    activities = [
        ("bus_ride", {"distance_km": "8.2"}),
        ("bus_ride", {"distance_km": "12.5", "duration_minutes": "30"}),
        ("recycling_weigh_in", {"material": "aluminium_cans", "kg": "0.8"}),
    ]
    return [
        record_reduction(
            session,
            resident.id,
            resolver.apply(
                kind=kind,
                quantities_raw=quantities,
                occurred_at=DURING + timedelta(hours=i),
                self_reported=False,
            ),
            ReductionStatus.VERIFIED,
        )
        for i, (kind, quantities) in enumerate(activities)
    ]


def test_recompute_finds_nothing_wrong_in_a_clean_database(app, stored):
    result = app.test_cli_runner().invoke(args=["recompute", "--progress-every", "2"])
    assert result.exit_code == 0, result.output
    assert "3 reductions checked, 0 mismatches" in result.output
    assert "… 2 checked" in result.output


def test_recompute_lists_a_tampered_reduction_and_fails(app, session, stored):
    tampered = stored[1]
    session.execute(
        sa.update(Reduction).where(Reduction.id == tampered.id).values(reduction_g=999_999)
    )
    session.flush()
    result = app.test_cli_runner().invoke(args=["recompute", "--batch-size", "2"])
    assert result.exit_code == 1
    assert f"reduction {tampered.id} (bus@1.0.0): stored " in result.output
    assert "reduction_g=999999" in result.output
    assert f"reduction_g={tampered.reduction_g}" in result.output
    assert "3 reductions checked, 1 mismatches" in result.output
    assert f"reduction {stored[0].id} " not in result.output


def test_recompute_reports_reductions_it_cannot_recompute(app, session, stored):
    session.execute(
        sa.update(Reduction)
        .where(Reduction.id == stored[2].id)
        .values(quantities={"material": "uranium", "kg": "1"})
    )
    session.execute(
        sa.update(Reduction)
        .where(Reduction.id == stored[0].id)
        .values(occurred_at=DURING.replace(year=2025))
    )
    result = app.test_cli_runner().invoke(args=["recompute"])
    assert result.exit_code == 1
    assert "stored quantities no longer load" in result.output
    assert "was not in effect at 2025-03-01" in result.output


def test_register_command_makes_a_draft_per_new_plugin_version(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["methodologies", "register"])
    assert first.exit_code == 0, first.output
    assert "registered draft bus@1.0.0" in first.output
    drafts = session.scalars(sa.select(MethodologyVersion)).all()
    assert {version.code for version in drafts} == set(app_context.of(app).methodologies)
    assert {version.status for version in drafts} == {VersionStatus.DRAFT}
    again = runner.invoke(args=["methodologies", "register"])
    assert "already" in again.output


def test_demo_data_approves_every_builtin_so_the_demo_city_credits(app, session):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    plugins = app_context.of(app).methodologies
    versions = session.scalars(sa.select(MethodologyVersion)).all()
    assert {version.code for version in versions} == set(plugins)
    for version in versions:
        assert version.status == VersionStatus.APPROVED
        assert version.effective_from.isoformat() == "2025-12-31T16:00:00+00:00"
        assert version.submitted_by_id != version.decided_by_id
        assert services.version_in_effect(session, version.code, DURING) == version
