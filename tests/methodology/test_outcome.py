"""The pure outcome of one activity under a version, and the methodology caps at their edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from app.methodology.apply import prepare
from app.methodology.outcome import (
    METHODOLOGY_DAILY,
    METHODOLOGY_MONTHLY,
    CapRoom,
    GramCaps,
    caps_of,
    outcome,
)
from methodologies.household_energy import ElectricitySaving
from methodologies.transit import BusRide

ZONE = ZoneInfo("Asia/Shanghai")
#: 23:59:59 local on the last day of a month; a second later is the first of the next month.
MONTH_END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=ZONE)


def _prepared(plugin, **overrides):
    return prepare(
        plugin,
        version_id=1,
        code=plugin.code,
        version="1.0.0",
        activity_kind=plugin.activity_kind,
        parameters={**plugin.default_parameters(), **overrides},
    )


def test_a_ride_is_credited_with_its_grams_and_the_version_caps_are_read_from_it():
    bus = _prepared(BusRide)
    result = outcome(bus, {"distance_km": "8.2", "duration_minutes": "25"}, MONTH_END)
    assert (result.status, result.reduction_g, result.credited_g, result.capped_g) == (
        "credited", 221, 221, 0,
    )  # fmt: skip
    assert caps_of(bus) == GramCaps(daily_g=4_000, monthly_g=None)


def test_nothing_avoided_is_no_reduction_and_earns_nothing():
    electricity = _prepared(ElectricitySaving)
    above = {
        "period_start": "2026-10-01", "period_end": "2026-10-31",
        "consumed_kwh": "320", "baseline_kwh": "300",
    }  # fmt: skip
    result = outcome(electricity, above, MONTH_END, explain=True)
    assert result.status == "no_reduction" and result.credited_g == 0
    assert result.quantification.trace.en.endswith("→ 0 g")
    bus = outcome(_prepared(BusRide), {"distance_km": "0", "duration_minutes": "5"}, MONTH_END)
    assert bus.status == "no_reduction" and bus.reduction_g == 0


def test_stored_quantities_the_version_refuses_are_invalid_not_a_crash():
    result = outcome(_prepared(BusRide), {"distance_km": "-1"}, MONTH_END)
    assert result.status == "invalid" and "distance_km" in result.errors


@given(
    earlier=st.integers(min_value=0, max_value=4_100),
    grams=st.integers(min_value=1, max_value=1_000),
)
def test_the_daily_cap_credits_exactly_up_to_it_and_caps_the_rest(earlier, grams):
    room = CapRoom(ZONE)
    room.add(7, "bus", MONTH_END.date(), earlier, whole_month=False)
    capping = room.take(7, "bus", MONTH_END, grams, GramCaps(daily_g=4_000))
    left = max(0, 4_000 - earlier)
    assert capping.credited_g == min(grams, left)
    assert capping.credited_g + capping.capped_g == grams
    assert capping.cap == (METHODOLOGY_DAILY if grams > left else None)
    if earlier + grams == 4_000:  # exactly at the cap: all credited
        assert capping.capped_g == 0
    if earlier + grams == 4_001:  # one gram past: that gram is capped
        assert capping.capped_g == 1


@given(seconds=st.integers(min_value=1, max_value=3 * 86_400), grams=st.integers(1, 5_000))
def test_a_new_local_day_and_month_start_with_room_again(seconds, grams):
    caps = GramCaps(daily_g=4_000, monthly_g=10_000)
    room = CapRoom(ZONE)
    room.add(7, "bus", MONTH_END.date(), 10_000, whole_month=True)  # earlier days of October
    same_day = room.take(7, "bus", MONTH_END, grams, caps)
    assert (same_day.credited_g, same_day.cap) == (0, METHODOLOGY_MONTHLY)
    later = MONTH_END + timedelta(seconds=seconds)  # from 00:00:00 on 1 November, city time
    next_month = room.take(7, "bus", later, grams, caps)
    assert next_month.credited_g == min(grams, 4_000)
    # The same instant in UTC is still 31 October there: the city's zone decides the day.
    assert later.astimezone(UTC).date() <= later.date()


def test_caps_count_per_participant_and_methodology():
    caps = GramCaps(daily_g=100)
    room = CapRoom(ZONE)
    assert room.take(1, "bus", MONTH_END, 100, caps).capped_g == 0
    assert room.take(1, "bus", MONTH_END, 1, caps).capped_g == 1
    assert room.take(2, "bus", MONTH_END, 100, caps).capped_g == 0
    assert room.take(1, "metro", MONTH_END, 100, caps).capped_g == 0
