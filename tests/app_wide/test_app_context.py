"""The app's context is built and checked once at start-up; the edges hand its values on."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import context, flush
from app.config import ConfigError
from tests.conftest import make_app


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("POINTS_DAILY_CAP", -1),
        ("POINTS_PER_GRAM", "0"),
        ("POINTS_CAPS_BY_METHODOLOGY", '{"bus": 5}'),
        ("MAX_TRIPS_PER_DAY", 0),
        ("PARTNER_BATCH_LIMIT", "many"),
        ("POINTS_BUDGET_POLICY", "postpone"),
        ("POINTS_BUDGET_WARN_PERCENT", 0),
        ("POINTS_BUDGET_WARN_PERCENT", 101),
        ("POINTS_BUDGET_WARN_PERCENT", "80"),
    ],
)
def test_a_setting_that_cannot_work_stops_start_up(database, setting, value):
    with pytest.raises(ConfigError, match=setting):
        make_app(database, **{setting: value})


@pytest.mark.parametrize(("policy", "percent"), [("defer", 1), ("scale", 100), ("defer", 80)])
def test_budget_settings_at_their_limits_start(database, policy, percent):
    built = context.of(
        make_app(database, POINTS_BUDGET_POLICY=policy, POINTS_BUDGET_WARN_PERCENT=percent)
    )
    assert (built.ledger_policy.budget_policy, built.ledger_policy.budget_warn_percent) == (
        policy,
        percent,
    )


def test_the_context_is_built_once_from_the_configuration(app):
    built = context.of(app)
    assert built.zone == ZoneInfo(app.config["CITY_TIMEZONE"])
    assert built.ledger_policy.zone == built.zone
    assert "bus" in built.methodologies and built.reward_types
    with app.app_context():
        assert context.city_zone() is built.zone
        assert context.methodologies() is built.methodologies
        assert context.pipeline_settings().max_trips_per_day == app.config["MAX_TRIPS_PER_DAY"]


def test_one_flush_listener_runs_every_write_guard(app):
    assert event.contains(Session, "before_flush", flush._run_guards)
    names = {guard.__name__ for guard in flush._guards}
    assert {
        "_refuse_changes_to_audit_entries",
        "_refuse_changes_to_frozen_versions",
        "_refuse_changes_to_filed_batches",
    } <= names
