"""Properties every built-in keeps, for any valid input and any valid parameters."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from methodologies import Methodology, Parameters, Quantification
from methodologies.cycling import Cycling
from methodologies.ev_charging import EvCharging
from methodologies.household_energy import ElectricitySaving, GasSaving
from methodologies.recycling import MATERIALS, Recycling
from methodologies.rooftop_solar import RooftopSolar
from methodologies.text import grams
from methodologies.transit import BusRide, MetroRide
from methodologies.walking import Walking
from tests.plugins.methodologies.support import OCCURRED_AT, parameter_values

Raw = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """A methodology, the amount its reduction grows with, and how raw input is built from it."""

    methodology: type[Methodology]
    amounts: st.SearchStrategy[Any]
    others: st.SearchStrategy[Raw]
    build: Callable[[Raw, Any], Raw]


def km(most: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(0), max_value=Decimal(most), places=3)


def use(most: int) -> st.SearchStrategy[str]:
    return st.decimals(min_value=Decimal(0), max_value=Decimal(most), places=2).map(str)


MAY = {"period_start": "2024-05-01", "period_end": "2024-05-31"}

CASES = {
    "bus": Case(BusRide, km(120), st.just({}), lambda raw, x: raw | {"distance_km": str(x)}),
    "metro": Case(MetroRide, km(150), st.just({}), lambda raw, x: raw | {"distance_km": str(x)}),
    "cycling": Case(
        Cycling,
        km(80),
        st.fixed_dictionaries(
            {"mode": st.sampled_from(["shared", "own"]), "duration_minutes": use(600)}
        ),
        lambda raw, x: raw | {"distance_km": str(x)},
    ),
    # Savings grow with the baseline for a given metered use.
    "electricity": Case(
        ElectricitySaving,
        use(5_000),
        st.fixed_dictionaries({"consumed_kwh": use(5_000)}),
        lambda raw, x: MAY | raw | {"baseline_kwh": x},
    ),
    "gas": Case(
        GasSaving,
        use(500),
        st.fixed_dictionaries({"consumed_m3": use(500)}),
        lambda raw, x: MAY | raw | {"baseline_m3": x},
    ),
    "recycling": Case(
        Recycling,
        km(300),
        st.fixed_dictionaries({"material": st.sampled_from(sorted(MATERIALS))}),
        lambda raw, x: raw | {"kg": str(x)},
    ),
    "walking steps": Case(
        Walking, st.integers(0, 200_000), st.just({}), lambda raw, x: raw | {"steps": x}
    ),
    "ev charging": Case(EvCharging, use(500), st.just({}), lambda raw, x: raw | {"kwh": x}),
    "rooftop solar": Case(
        RooftopSolar, use(100_000), st.just({}), lambda raw, x: MAY | raw | {"generated_kwh": x}
    ),
    "walking km": Case(Walking, km(100), st.just({}), lambda raw, x: raw | {"distance_km": str(x)}),
}

cases = pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())


def run(case: Case, params: Parameters, raw: Raw, self_reported: bool) -> Quantification:
    activity = case.methodology.build_activity(raw, OCCURRED_AT, self_reported=self_reported)
    return case.methodology.quantify(activity, params, explain=True)


def draw_params(case: Case, data: st.DataObject) -> Parameters:
    return case.methodology.load_parameters(data.draw(parameter_values(case.methodology)))


@cases
@given(data=st.data(), self_reported=st.booleans())
def test_never_negative_never_above_the_cap_and_deterministic(
    case: Case, data: st.DataObject, self_reported: bool
) -> None:
    params = draw_params(case, data)
    raw = case.build(data.draw(case.others), data.draw(case.amounts))
    result = run(case, params, raw, self_reported)
    assert 0 <= result.reduction_g <= params.values["activity_cap_g"]
    assert result.baseline_g >= 0
    assert result.project_g >= 0
    assert run(case, params, raw, self_reported) == result
    activity = case.methodology.build_activity(raw, OCCURRED_AT, self_reported=self_reported)
    bare = case.methodology.quantify(activity, params)
    assert (bare.baseline_g, bare.project_g, bare.reduction_g, bare.capped, bare.trace) == (
        result.baseline_g,
        result.project_g,
        result.reduction_g,
        result.capped,
        None,
    )
    assert result.trace is not None
    assert result.trace.en.endswith(f"→ {grams(result.reduction_g)} g")
    assert result.trace.zh.endswith(f"→ {grams(result.reduction_g)} 克")


@cases
@given(data=st.data(), self_reported=st.booleans())
def test_non_decreasing_in_the_amount(case: Case, data: st.DataObject, self_reported: bool) -> None:
    params = draw_params(case, data)
    others = data.draw(case.others)
    low, high = sorted([data.draw(case.amounts), data.draw(case.amounts)], key=Decimal)
    smaller = run(case, params, case.build(others, low), self_reported)
    larger = run(case, params, case.build(others, high), self_reported)
    assert smaller.reduction_g <= larger.reduction_g


@cases
@given(data=st.data())
def test_self_reported_never_earns_more(case: Case, data: st.DataObject) -> None:
    params = draw_params(case, data)
    raw = case.build(data.draw(case.others), data.draw(case.amounts))
    assert run(case, params, raw, True).reduction_g <= run(case, params, raw, False).reduction_g


@cases
@given(data=st.data(), self_reported=st.booleans())
def test_recomputes_identically_from_parameters_stored_as_json(
    case: Case, data: st.DataObject, self_reported: bool
) -> None:
    params = draw_params(case, data)
    raw = case.build(data.draw(case.others), data.draw(case.amounts))
    first = run(case, params, raw, self_reported)
    stored = json.dumps(case.methodology.dump_parameters(params))
    reloaded = case.methodology.load_parameters(json.loads(stored))
    assert reloaded == params
    quantities = case.methodology.load_quantities(raw)
    stored_quantities = json.loads(json.dumps(case.methodology.dump_quantities(quantities)))
    assert run(case, reloaded, stored_quantities, self_reported) == first
