"""Worked vectors: the published factors give exactly these grams and these traces."""

import json
from typing import Any

import pytest

from methodologies import Methodology, Quantification, sources
from methodologies.cycling import Cycling
from methodologies.ev_charging import EvCharging
from methodologies.household_energy import ElectricitySaving, GasSaving
from methodologies.recycling import Recycling
from methodologies.rooftop_solar import RooftopSolar
from methodologies.transit import BusRide, MetroRide
from methodologies.walking import Walking
from tests.plugins.methodologies.support import OCCURRED_AT

MAY = {"period_start": "2024-05-01", "period_end": "2024-05-31"}


def quantify(
    methodology: type[Methodology], raw: dict[str, Any], *, self_reported: bool = False
) -> Quantification:
    params = methodology.load_parameters(methodology.default_parameters())
    activity = methodology.build_activity(raw, OCCURRED_AT, self_reported=self_reported)
    return methodology.quantify(activity, params, explain=True)


VECTORS = {
    "bus 10.0 km at a net 26.9 g/pkm": (
        BusRide,
        {"distance_km": "10.0"},
        269,
        "10.0 km × 26.9 g/km = 269.0 g → 269 g",
    ),
    "metro 12.0 km at 46.7 g/pkm, 560.4 rounds down": (
        MetroRide,
        {"distance_km": "12.0"},
        560,
        "12.0 km × 46.7 g/km = 560.4 g → 560 g",
    ),
    "100 kWh under baseline at 0.5857 kg/kWh": (
        ElectricitySaving,
        {**MAY, "baseline_kwh": "300", "consumed_kwh": "200"},
        58_570,
        "(baseline 300 kWh − metered 200 kWh) × 585.7 g/kWh = 58,570.0 g → 58,570 g",
    ),
    "10 m3 gas under baseline at 2.1622 kg/m3": (
        GasSaving,
        {**MAY, "baseline_m3": "40", "consumed_m3": "30"},
        21_622,
        "(baseline 40 m3 − metered 30 m3) × 2,162.2 g/m3 = 21,622.0 g → 21,622 g",
    ),
    "1 kg mixed paper at 3.913 kg/kg": (
        Recycling,
        {"material": "mixed_paper", "kg": "1"},
        3_913,
        "mixed paper 1 kg × 3,913 g/kg = 3,913.0 g → 3,913 g",
    ),
    "shared bike 3.2 km at 40 g/km": (
        Cycling,
        {"mode": "shared", "distance_km": "3.2", "duration_minutes": "15"},
        128,
        "shared bike: 3.2 km × 40 g/km = 128.0 g → 128 g",
    ),
    # 7 L/100 km × 0.725 kg/L × 2,925.1 g/kg = 148.448825 g/km of petrol car;
    # 40 kWh drive 260 km: 38,596.6945 g avoided, 23,428 g of grid electricity used.
    "EV 40 kWh charged instead of petrol": (
        EvCharging,
        {"kwh": "40"},
        15_169,
        "40 kWh × 6.5 km/kWh × 148.448825 g/km − 40 kWh × 585.7 g/kWh = 15,168.6945 g → 15,169 g",
    ),
    "rooftop solar 420 kWh at 0.5857 kg/kWh": (
        RooftopSolar,
        {**MAY, "generated_kwh": "420"},
        245_994,
        "420 kWh × 585.7 g/kWh = 245,994.0 g → 245,994 g",
    ),
    "8.2 km bus: 220.58 rounds half up": (
        BusRide,
        {"distance_km": "8.2"},
        221,
        "8.2 km × 26.9 g/km = 220.58 g → 221 g",
    ),
}


@pytest.mark.parametrize(
    ("methodology", "raw", "grams", "trace"), VECTORS.values(), ids=VECTORS.keys()
)
def test_worked_vector(
    methodology: type[Methodology], raw: dict[str, Any], grams: int, trace: str
) -> None:
    result = quantify(methodology, raw)
    assert result.reduction_g == grams
    assert not result.capped
    assert result.trace is not None
    assert result.trace.en == trace


def test_bus_vector_from_json_numbers_and_in_chinese() -> None:
    result = quantify(BusRide, json.loads('{"distance_km": 10.0}'))
    assert (result.baseline_g, result.project_g, result.reduction_g) == (269, 0, 269)
    assert result.trace is not None
    assert result.trace.en == "10.0 km × 26.9 g/km = 269.0 g → 269 g"
    assert result.trace.zh == "10.0 公里 × 26.9 克/公里 = 269.0 克 → 269 克"


def test_stored_quantities_keep_the_reported_digits() -> None:
    quantities = BusRide.load_quantities(json.loads('{"distance_km": 10.0}'))
    assert BusRide.dump_quantities(quantities) == {"distance_km": "10.0"}
    power = ElectricitySaving.load_quantities(
        {**MAY, "baseline_kwh": 300, "consumed_kwh": "200.50"}
    )
    assert ElectricitySaving.dump_quantities(power) == {
        **MAY,
        "baseline_kwh": "300",
        "consumed_kwh": "200.50",
    }


def test_electricity_keeps_baseline_and_project_apart() -> None:
    result = quantify(ElectricitySaving, {**MAY, "baseline_kwh": "300", "consumed_kwh": "200"})
    assert (result.baseline_g, result.project_g) == (175_710, 117_140)


def test_self_reported_counts_at_the_weight_and_says_so() -> None:
    result = quantify(BusRide, {"distance_km": "10.0"}, self_reported=True)
    assert result.reduction_g == 135  # 134.5 rounds half up
    assert result.trace is not None
    assert result.trace.en == "10.0 km × 26.9 g/km × 0.5 (self-reported) = 134.5 g → 135 g"
    assert result.trace.zh == "10.0 公里 × 26.9 克/公里 × 0.5（自报权重） = 134.5 克 → 135 克"


def test_per_activity_cap_is_applied_and_traced() -> None:
    result = quantify(BusRide, {"distance_km": "40"})
    assert (result.baseline_g, result.reduction_g, result.capped) == (1_076, 1_000, True)
    assert result.trace is not None
    assert result.trace.en == (
        "40 km × 26.9 g/km = 1,076.0 g, capped at 1,000 g per activity → 1,000 g"
    )
    assert (
        result.trace.zh == "40 公里 × 26.9 克/公里 = 1,076.0 克，超过单次上限 1,000 克 → 1,000 克"
    )


def test_walking_is_capped_at_the_ant_forest_296_g() -> None:
    result = quantify(Walking, {"steps": 25_000})
    assert (result.reduction_g, result.capped) == (296, True)
    params = Walking.load_parameters(Walking.default_parameters())
    assert Walking.daily_cap_g(params) == 296


def test_only_a_fall_below_the_baseline_earns() -> None:
    result = quantify(ElectricitySaving, {**MAY, "baseline_kwh": "200", "consumed_kwh": "250"})
    assert (result.baseline_g, result.project_g, result.reduction_g) == (117_140, 146_425, 0)
    assert result.trace is not None
    assert result.trace.en == (
        "(baseline 200 kWh − metered 250 kWh) × 585.7 g/kWh = -29,285.0 g, "
        "no reduction, counts as 0 g → 0 g"
    )


def test_station_distance_is_looked_up_both_ways() -> None:
    values = BusRide.default_parameters() | {"station_km": {"南门广场~银川火车站": "8.2"}}
    params = BusRide.load_parameters(values)
    there = BusRide.build_activity(
        {"from_station": "南门广场", "to_station": "银川火车站"}, OCCURRED_AT
    )
    back = BusRide.build_activity(
        {"from_station": "银川火车站", "to_station": "南门广场"}, OCCURRED_AT
    )
    result = BusRide.quantify(there, params, explain=True)
    assert result.reduction_g == BusRide.quantify(back, params).reduction_g == 221
    assert result.trace is not None
    assert result.trace.en == (
        "南门广场~银川火车站 is 8.2 km by the station-distance table; "
        "8.2 km × 26.9 g/km = 220.58 g → 221 g"
    )


def test_a_separate_project_factor_is_subtracted() -> None:
    values = BusRide.default_parameters() | {
        "baseline_g_per_pkm": "271.8",
        "project_g_per_pkm": "61.4",
    }
    params = BusRide.load_parameters(values)
    result = BusRide.quantify(
        BusRide.build_activity({"distance_km": "2"}, OCCURRED_AT), params, explain=True
    )
    assert (result.baseline_g, result.project_g, result.reduction_g) == (544, 123, 421)
    assert result.trace is not None
    assert result.trace.en == "2 km × (271.8 − 61.4) g/km = 420.8 g → 421 g"


DEFAULTS = [
    (BusRide, "baseline_g_per_pkm", "26.9", sources.SHENZHEN_TRANSIT),
    (MetroRide, "baseline_g_per_pkm", "46.7", sources.SHENZHEN_TRANSIT),
    (BusRide, "station_km", {}, "operator-provided station-distance table"),
    (Cycling, "shared_g_per_km", "40", "Wuhan 武碳江湖 published per-action values, 2023"),
    (Cycling, "max_speed_kmh", "25", "GB 17761-2018"),
    (
        ElectricitySaving,
        "grid_kg_per_kwh",
        "0.5857",
        "MEE / NBS published regional grid factors (2022 data)",
    ),
    (
        GasSaving,
        "gas_kg_per_m3",
        "2.1622",
        "38,931 kJ/m3 × 15.3 tC/TJ × 0.99 oxidation × 44/12 (national guideline defaults)",
    ),
    (Recycling, "mixed_paper_kg_per_kg", "3.913", sources.EPA_WARM),
    (
        Recycling,
        "mixed_plastics_kg_per_kg",
        "1.025",
        "US EPA WARM (v15/16), converted from per short ton",
    ),
    (Recycling, "aluminium_cans_kg_per_kg", "10.064", sources.EPA_WARM),
    (Recycling, "steel_cans_kg_per_kg", "2.017", sources.EPA_WARM),
    (Recycling, "glass_kg_per_kg", "0.309", sources.EPA_WARM),
    (Walking, "daily_cap_g", 296, "Ant Forest"),
    (BusRide, "self_report_weight", "0.5", "Hubei 碳碳星球"),
]


@pytest.mark.parametrize(
    ("methodology", "name", "value", "source"),
    DEFAULTS,
    ids=[f"{methodology.code}.{name}" for methodology, name, _, _ in DEFAULTS],
)
def test_defaults_cite_their_source(
    methodology: type[Methodology], name: str, value: Any, source: str
) -> None:
    declared = {p.name: p for p in methodology.parameters}[name]
    assert declared.dump(declared.default) == value
    assert declared.source == source


def test_every_builtin_has_the_self_report_weight_of_one_half() -> None:
    for methodology in (
        BusRide,
        MetroRide,
        Cycling,
        ElectricitySaving,
        GasSaving,
        Recycling,
        Walking,
    ):
        assert methodology.default_parameters()["self_report_weight"] == "0.5"


def test_ev_charging_keeps_petrol_baseline_and_grid_project_apart() -> None:
    result = quantify(EvCharging, {"kwh": "12.5"})
    # 12.5 × 6.5 × 148.448825 = 12,061.467... g baseline; 12.5 × 585.7 = 7,321.25 g project
    assert (result.baseline_g, result.project_g, result.reduction_g) == (12_061, 7_321, 4_740)


def test_ev_charging_earns_nothing_where_the_grid_is_dirtier_than_petrol() -> None:
    params = EvCharging.load_parameters(
        {**EvCharging.default_parameters(), "grid_kg_per_kwh": "1.2", "ev_km_per_kwh": "5"}
    )
    activity = EvCharging.build_activity({"kwh": "10"}, OCCURRED_AT)
    result = EvCharging.quantify(activity, params, explain=True)
    assert (result.reduction_g, result.project_g) == (0, 12_000)
    assert result.trace is not None and "no reduction, counts as 0 g" in result.trace.en


def test_ev_and_solar_findings() -> None:
    ev = EvCharging.load_parameters(EvCharging.default_parameters())
    findings = EvCharging.check(EvCharging.build_activity({"kwh": "0"}, OCCURRED_AT), ev)
    assert [(f.code, f.severity.value) for f in findings] == [("nothing_charged", "reject")]
    at_limit = EvCharging.check(EvCharging.build_activity({"kwh": "120"}, OCCURRED_AT), ev)
    assert at_limit == []
    past = EvCharging.check(EvCharging.build_activity({"kwh": "120.01"}, OCCURRED_AT), ev)
    assert [f.code for f in past] == ["large_charge"]
    solar = RooftopSolar.load_parameters(RooftopSolar.default_parameters())
    month = {**MAY, "generated_kwh": "1860"}  # 31 days × 60 kWh: at the limit
    assert RooftopSolar.check(RooftopSolar.build_activity(month, OCCURRED_AT), solar) == []
    more = {**MAY, "generated_kwh": "1860.01"}
    found = RooftopSolar.check(RooftopSolar.build_activity(more, OCCURRED_AT), solar)
    assert [f.code for f in found] == ["generation_too_high"]


def test_sources_of_the_new_defaults_are_cited() -> None:
    ev = {p.name: p.source for p in EvCharging.parameters}
    assert ev["gasoline_kg_per_kg"] == sources.GASOLINE
    assert ev["grid_kg_per_kwh"] == sources.GRID_NORTHWEST_2022
    assert "GB 17930" in ev["petrol_kg_per_l"]
    solar = {p.name: p.source for p in RooftopSolar.parameters}
    assert solar["grid_kg_per_kwh"] == sources.GRID_NORTHWEST_2022
