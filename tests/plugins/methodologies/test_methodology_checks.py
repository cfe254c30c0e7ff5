"""Plausibility findings: stable codes, a severity, and text in both languages."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from methodologies import Finding, Methodology, QuantificationError, Severity
from methodologies.cycling import Cycling
from methodologies.household_energy import ElectricitySaving, GasSaving
from methodologies.recycling import Recycling
from methodologies.transit import BusRide, MetroRide
from methodologies.walking import Walking
from tests.plugins.methodologies.support import OCCURRED_AT

MAY = {"period_start": "2024-05-01", "period_end": "2024-05-31"}
POWER = {**MAY, "baseline_kwh": "300", "consumed_kwh": "260"}
STATIONS = {"station_km": {"南门广场~银川火车站": "8.2"}}


def findings(
    methodology: type[Methodology],
    raw: dict[str, Any],
    *,
    parameters: dict[str, Any] | None = None,
    occurred_at: datetime = OCCURRED_AT,
) -> list[Finding]:
    params = methodology.load_parameters(methodology.default_parameters() | (parameters or {}))
    result = methodology.check(methodology.build_activity(raw, occurred_at), params)
    for finding in result:
        assert finding.message.zh.strip()
        assert finding.message.en.strip()
    return result


def codes(result: list[Finding]) -> list[tuple[str, Severity]]:
    return [(finding.code, finding.severity) for finding in result]


CASES = {
    "ordinary bike trip": (
        Cycling,
        {"mode": "shared", "distance_km": "3", "duration_minutes": "12"},
        [],
    ),
    "cycling faster than 25 km/h": (
        Cycling,
        {"mode": "own", "distance_km": "10", "duration_minutes": "20"},
        [("too_fast", Severity.FLAG)],
    ),
    "cycling exactly 25 km/h": (
        Cycling,
        {"mode": "own", "distance_km": "10", "duration_minutes": "24"},
        [],
    ),
    "cycling in no time": (
        Cycling,
        {"mode": "shared", "distance_km": "1", "duration_minutes": "0"},
        [("zero_duration", Severity.REJECT)],
    ),
    "cycling very far": (
        Cycling,
        {"mode": "own", "distance_km": "80", "duration_minutes": "300"},
        [("trip_too_long", Severity.FLAG)],
    ),
    "ordinary bus ride": (BusRide, {"distance_km": "8", "duration_minutes": "25"}, []),
    "bus ride longer than any route": (
        BusRide,
        {"distance_km": "75"},
        [("longer_than_longest_route", Severity.REJECT)],
    ),
    "bus faster than a bus": (
        BusRide,
        {"distance_km": "30", "duration_minutes": "15"},
        [("too_fast", Severity.FLAG)],
    ),
    "bus ride in no time": (
        BusRide,
        {"distance_km": "3", "duration_minutes": "0"},
        [("zero_duration", Severity.REJECT)],
    ),
    "metro ride longer than any line": (
        MetroRide,
        {"distance_km": "120"},
        [("longer_than_longest_route", Severity.REJECT)],
    ),
    "plain metering period": (ElectricitySaving, POWER, []),
    "readings that match": (
        ElectricitySaving,
        {**POWER, "meter_start": "10240", "meter_end": "10500"},
        [],
    ),
    "meter reading going backwards": (
        ElectricitySaving,
        {**POWER, "meter_start": "10500", "meter_end": "10240"},
        [("meter_backwards", Severity.REJECT)],
    ),
    "use not equal to the readings' difference": (
        GasSaving,
        {**MAY, "baseline_m3": "40", "consumed_m3": "30", "meter_start": "100", "meter_end": "125"},
        [("consumed_mismatch", Severity.REJECT)],
    ),
    "period not over yet": (
        ElectricitySaving,
        {**POWER, "period_start": "2024-06-01", "period_end": "2024-06-30"},
        [("period_not_over", Severity.REJECT)],
    ),
    "period too long": (
        ElectricitySaving,
        {**POWER, "period_start": "2024-01-01"},
        [("period_too_long", Severity.FLAG)],
    ),
    "nothing used": (
        ElectricitySaving,
        {**POWER, "consumed_kwh": "0"},
        [("zero_consumption", Severity.FLAG)],
    ),
    "use fell by more than half": (
        GasSaving,
        {**MAY, "baseline_m3": "40", "consumed_m3": "19.9"},
        [("fall_too_large", Severity.FLAG)],
    ),
    "ordinary weigh-in": (Recycling, {"material": "glass", "kg": "12.5"}, []),
    "heavy weigh-in": (
        Recycling,
        {"material": "mixed_paper", "kg": "150"},
        [("unusually_heavy", Severity.FLAG)],
    ),
    "ordinary walk": (Walking, {"steps": 9000}, []),
    "too many steps": (Walking, {"steps": 90_000}, [("too_many_steps", Severity.FLAG)]),
    "walk too long": (Walking, {"distance_km": "60"}, [("walk_too_long", Severity.FLAG)]),
}


@pytest.mark.parametrize(("methodology", "raw", "expected"), CASES.values(), ids=CASES.keys())
def test_plausibility(
    methodology: type[Methodology], raw: dict[str, Any], expected: list[tuple[str, Severity]]
) -> None:
    assert codes(findings(methodology, raw)) == expected


def test_too_fast_says_how_fast() -> None:
    [finding] = findings(Cycling, {"mode": "own", "distance_km": "10", "duration_minutes": "20"})
    assert finding.message.en == "Average speed about 30.0 km/h, above a bicycle's 25 km/h."
    assert finding.message.zh == "平均速度约 30.0 公里/小时，高于自行车的 25 公里/小时。"


def test_a_station_ride_is_checked_with_the_table_distance() -> None:
    raw = {"from_station": "南门广场", "to_station": "银川火车站", "duration_minutes": "4"}
    assert codes(findings(BusRide, raw, parameters=STATIONS)) == [("too_fast", Severity.FLAG)]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ({"from_station": "南门广场", "to_station": "新华街"}, "unknown_station_pair"),
        ({"from_station": "南门广场", "to_station": "南门广场"}, "same_station"),
    ],
)
def test_a_station_ride_without_a_distance_is_rejected_and_not_quantified(
    raw: dict[str, str], code: str
) -> None:
    params = BusRide.load_parameters(BusRide.default_parameters() | STATIONS)
    activity = BusRide.build_activity(raw, OCCURRED_AT)
    [finding] = BusRide.check(activity, params)
    assert (finding.code, finding.severity) == (code, Severity.REJECT)
    with pytest.raises(QuantificationError) as excinfo:
        BusRide.quantify(activity, params)
    assert excinfo.value.finding == finding


def test_the_period_end_is_compared_in_the_reports_own_time_zone() -> None:
    # 2024-06-01 00:30 in Yinchuan is still 31 May in UTC: the May period is over either way.
    local = datetime(2024, 6, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert findings(ElectricitySaving, POWER, occurred_at=local) == []
    early = datetime(2024, 5, 31, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert codes(
        findings(ElectricitySaving, {**POWER, "period_end": "2024-06-01"}, occurred_at=early)
    ) == [("period_not_over", Severity.REJECT)]


def test_bounds_come_from_the_versions_parameters() -> None:
    raw = {"mode": "own", "distance_km": "10", "duration_minutes": "20"}
    assert findings(Cycling, raw, parameters={"max_speed_kmh": "32"}) == []
