"""Bad input is refused when it is loaded, with a ValidationError naming the field."""

from datetime import datetime
from typing import Any

import pytest
from marshmallow import ValidationError

from methodologies import Activity, Methodology
from methodologies.cycling import Cycling
from methodologies.household_energy import ElectricitySaving, GasSaving
from methodologies.recycling import Recycling
from methodologies.transit import BusRide, MetroRide
from methodologies.walking import Walking
from tests.plugins.methodologies.support import OCCURRED_AT

MAY = {"period_start": "2024-05-01", "period_end": "2024-05-31"}
POWER = {**MAY, "baseline_kwh": "300", "consumed_kwh": "200"}
RIDE = {"mode": "shared", "distance_km": "3", "duration_minutes": "12"}

BAD_QUANTITIES = {
    "negative bus km": (BusRide, {"distance_km": "-1"}, "distance_km"),
    "negative metro km": (MetroRide, {"distance_km": -0.1}, "distance_km"),
    "negative cycling km": (Cycling, {**RIDE, "distance_km": "-3"}, "distance_km"),
    "negative walking km": (Walking, {"distance_km": "-2"}, "distance_km"),
    "km as a boolean": (BusRide, {"distance_km": True}, "distance_km"),
    "km not a number": (BusRide, {"distance_km": "NaN"}, "distance_km"),
    "km infinite": (BusRide, {"distance_km": "Infinity"}, "distance_km"),
    "km with 7 decimal places": (BusRide, {"distance_km": "1.0000001"}, "distance_km"),
    "km beyond any scale": (BusRide, {"distance_km": "1e9"}, "distance_km"),
    "no distance and no stations": (BusRide, {"duration_minutes": "20"}, "distance_km"),
    "one station only": (BusRide, {"from_station": "南门广场"}, "to_station"),
    "empty station name": (BusRide, {"from_station": "", "to_station": "南门"}, "from_station"),
    "negative duration": (
        BusRide,
        {"distance_km": "3", "duration_minutes": "-5"},
        "duration_minutes",
    ),
    "unknown field": (BusRide, {"distance_km": "3", "fare_yuan": "2"}, "fare_yuan"),
    "unknown cycling mode": (Cycling, {**RIDE, "mode": "e-scooter"}, "mode"),
    "cycling without duration": (
        Cycling,
        {"mode": "own", "distance_km": "3"},
        "duration_minutes",
    ),
    "kWh as text": (ElectricitySaving, {**POWER, "consumed_kwh": "a lot"}, "consumed_kwh"),
    "baseline kWh missing": (ElectricitySaving, {**MAY, "consumed_kwh": "200"}, "baseline_kwh"),
    "m3 as text": (GasSaving, {**MAY, "baseline_m3": "forty", "consumed_m3": "30"}, "baseline_m3"),
    "period ends before it starts": (
        ElectricitySaving,
        {**POWER, "period_end": "2024-04-30"},
        "period_end",
    ),
    "period date not a date": (ElectricitySaving, {**POWER, "period_start": "May"}, "period_start"),
    "one meter reading only": (ElectricitySaving, {**POWER, "meter_start": "100"}, "meter_end"),
    "missing material": (Recycling, {"kg": "1"}, "material"),
    "unknown material": (Recycling, {"material": "batteries", "kg": "1"}, "material"),
    "negative kg": (Recycling, {"material": "glass", "kg": "-1"}, "kg"),
    "steps and km together": (Walking, {"steps": 100, "distance_km": "1"}, "steps"),
    "neither steps nor km": (Walking, {}, "steps"),
    "steps as a fraction": (Walking, {"steps": 10.5}, "steps"),
}


@pytest.mark.parametrize(
    ("methodology", "raw", "field"), BAD_QUANTITIES.values(), ids=BAD_QUANTITIES.keys()
)
def test_bad_quantities_name_the_field(
    methodology: type[Methodology], raw: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        methodology.load_quantities(raw)
    assert field in excinfo.value.messages


BAD_PARAMETERS = {
    "negative factor": (BusRide, {"baseline_g_per_pkm": "-26.9"}, "baseline_g_per_pkm"),
    "factor as text": (MetroRide, {"baseline_g_per_pkm": "plenty"}, "baseline_g_per_pkm"),
    "factor as a float-like typo": (
        ElectricitySaving,
        {"grid_kg_per_kwh": "0.58570000001"},
        "grid_kg_per_kwh",
    ),
    "weight above 1": (Cycling, {"self_report_weight": "1.5"}, "self_report_weight"),
    "cap as a string": (Walking, {"daily_cap_g": "296"}, "daily_cap_g"),
    "cap negative": (Walking, {"activity_cap_g": -1}, "activity_cap_g"),
    "max speed of zero": (Cycling, {"max_speed_kmh": "0"}, "max_speed_kmh"),
    "share above 1": (GasSaving, {"max_fall_share": "2"}, "max_fall_share"),
    "unknown parameter": (Recycling, {"batteries_kg_per_kg": "1"}, "batteries_kg_per_kg"),
    "station key without ~": (BusRide, {"station_km": {"南门-火车站": "3"}}, "station_km"),
    "station key with blanks": (BusRide, {"station_km": {"南门 ~火车站": "3"}}, "station_km"),
    "negative station distance": (BusRide, {"station_km": {"南门~火车站": "-3"}}, "station_km"),
    "station pair of one station": (BusRide, {"station_km": {"南门~南门": "3"}}, "station_km"),
    "station pair both ways, differently": (
        BusRide,
        {"station_km": {"南门~火车站": "3", "火车站~南门": "4"}},
        "station_km",
    ),
}


@pytest.mark.parametrize(
    ("methodology", "changes", "field"), BAD_PARAMETERS.values(), ids=BAD_PARAMETERS.keys()
)
def test_parameters_outside_their_schema_name_the_field(
    methodology: type[Methodology], changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        methodology.load_parameters(methodology.default_parameters() | changes)
    assert field in excinfo.value.messages


def test_a_missing_parameter_is_named() -> None:
    values = BusRide.default_parameters()
    del values["longest_ride_km"]
    with pytest.raises(ValidationError) as excinfo:
        BusRide.load_parameters(values)
    assert "longest_ride_km" in excinfo.value.messages


def test_quantify_takes_only_the_methodologys_own_loaded_parameters() -> None:
    activity = BusRide.build_activity({"distance_km": "3"}, OCCURRED_AT)
    with pytest.raises(TypeError, match=r"BusRide\.load_parameters"):
        BusRide.quantify(activity, BusRide.default_parameters())  # type: ignore[arg-type]
    metro = MetroRide.load_parameters(MetroRide.default_parameters())
    with pytest.raises(TypeError, match=r"BusRide\.load_parameters"):
        BusRide.quantify(activity, metro)
    with pytest.raises(TypeError, match=r"BusRide\.load_parameters"):
        BusRide.check(activity, metro)


def test_an_activity_of_another_kind_is_refused() -> None:
    params = BusRide.load_parameters(BusRide.default_parameters())
    metro_ride = MetroRide.build_activity({"distance_km": "3"}, OCCURRED_AT)
    with pytest.raises(ValueError, match="'bus_ride' activities, not 'metro_ride'"):
        BusRide.quantify(metro_ride, params)
    with pytest.raises(ValueError, match="'bus_ride' activities"):
        BusRide.check(metro_ride, params)


def test_an_activity_needs_a_timezone_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Activity("bus_ride", {"distance_km": 3}, datetime(2024, 6, 2, 9, 30))
