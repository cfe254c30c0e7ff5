"""Every registered methodology, built-in or installed, honours the contract."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from methodologies import Finding, Methodology, Quantification, Severity, Text, validate_methodology
from tests.plugins.methodologies.support import OCCURRED_AT, parameter_values

Registry = dict[str, type[Methodology]]


def test_passes_the_load_time_checks(methodology_code: str, methodologies: Registry) -> None:
    methodology = methodologies[methodology_code]
    assert validate_methodology(methodology_code, methodology) is methodology
    assert methodology.code == methodology_code


def test_every_parameter_renders_a_form_field(
    methodology_code: str, methodologies: Registry
) -> None:
    methodology = methodologies[methodology_code]
    fields = methodology.parameter_schema().fields
    assert list(fields) == [p.name for p in methodology.parameters]
    for p in methodology.parameters:
        metadata = fields[p.name].metadata
        assert metadata["unit"] == p.unit
        assert metadata["source"] == p.source
        assert metadata["default"] == methodology.default_parameters()[p.name]
        assert metadata["description"] == {"zh": p.description.zh, "en": p.description.en}


def test_parameters_below_their_minimum_are_refused(
    methodology_code: str, methodologies: Registry
) -> None:
    methodology = methodologies[methodology_code]
    for p in methodology.parameters:
        if p.kind == "table":
            continue
        too_low = p.dump(p.minimum - 1)
        with pytest.raises(ValidationError) as excinfo:
            methodology.load_parameters(methodology.default_parameters() | {p.name: too_low})
        assert list(excinfo.value.messages) == [p.name]


def test_unknown_parameters_and_quantities_are_refused(
    methodology_code: str, methodologies: Registry
) -> None:
    methodology = methodologies[methodology_code]
    with pytest.raises(ValidationError) as excinfo:
        methodology.load_parameters(methodology.default_parameters() | {"bonus": "1"})
    assert "bonus" in excinfo.value.messages
    with pytest.raises(ValidationError) as excinfo:
        methodology.load_quantities({**methodology.example, "bonus": "1"})
    assert "bonus" in excinfo.value.messages


def test_quantities_survive_json_as_reported(
    methodology_code: str, methodologies: Registry
) -> None:
    methodology = methodologies[methodology_code]
    quantities = methodology.load_quantities(methodology.example)
    stored = json.loads(json.dumps(methodology.dump_quantities(quantities)))
    assert methodology.load_quantities(stored) == quantities
    assert methodology.dump_quantities(methodology.load_quantities(stored)) == stored


def test_the_example_checks_and_quantifies(methodology_code: str, methodologies: Registry) -> None:
    methodology = methodologies[methodology_code]
    params = methodology.load_parameters(methodology.default_parameters())
    activity = methodology.build_activity(methodology.example, OCCURRED_AT)
    assert activity.kind == methodology.activity_kind
    findings = methodology.check(activity, params)
    assert all(isinstance(f, Finding) and isinstance(f.severity, Severity) for f in findings)
    result = methodology.quantify(activity, params, explain=True)
    assert isinstance(result, Quantification)
    assert result.reduction_g >= 0
    assert isinstance(result.trace, Text)
    assert result.trace.en.endswith(" g")
    assert result.trace.zh.endswith(" 克")
    assert isinstance(methodology.daily_cap_g(params), int)


def test_self_reported_example_is_weighted_in_the_trace(
    methodology_code: str, methodologies: Registry
) -> None:
    methodology = methodologies[methodology_code]
    params = methodology.load_parameters(methodology.default_parameters())
    activity = methodology.build_activity(methodology.example, OCCURRED_AT, self_reported=True)
    result = methodology.quantify(activity, params, explain=True)
    assert result.trace is not None
    assert "(self-reported)" in result.trace.en
    assert "自报" in result.trace.zh


@given(data=st.data())
def test_any_valid_parameters_survive_json(
    methodology_code: str, methodologies: Registry, data: st.DataObject
) -> None:
    methodology = methodologies[methodology_code]
    params = methodology.load_parameters(data.draw(parameter_values(methodology)))
    stored: Any = json.loads(json.dumps(methodology.dump_parameters(params)))
    assert methodology.load_parameters(stored) == params
