"""Every declared quantity field validates partner input at its bounds exactly: at the bound it
loads, one step past it is refused naming the field, and an undeclared field is named too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from methodologies import Methodology
from methodologies.kinds import QuantityField
from methodologies.schema import INPUT_PLACES, MAX_QUANTITY

_STEP = Decimal(1).scaleb(-INPUT_PLACES)


def _bounded(methodologies: dict[str, type[Methodology]]) -> list[tuple[Any, QuantityField]]:
    found = []
    for cls in methodologies.values():
        for declared in cls.kind.fields:
            if declared.type in ("decimal", "integer"):
                found.append((cls, declared))
    return found


def _base(cls: type[Methodology], name: str) -> dict[str, Any]:
    for sample in cls.kind.samples:
        if name in sample:
            return dict(sample)
    sample = dict(cls.kind.samples[0])
    return sample


def _upper(declared: QuantityField) -> Decimal:
    if declared.maximum is not None:
        return Decimal(declared.maximum)
    return MAX_QUANTITY if declared.type == "decimal" else Decimal(1_000_000_000)


def _value(declared: QuantityField, number: Decimal) -> Any:
    return int(number) if declared.type == "integer" else str(number)


def test_each_bound_holds_exactly_at_it_and_one_step_past(methodologies) -> None:
    checked = 0
    for cls, declared in _bounded(methodologies):
        base = _base(cls, declared.name)
        if declared.name not in base:
            continue  # an optional field the samples leave out: a cross-field rule may need it
        step = Decimal(1) if declared.type == "integer" else _STEP
        edges = [(_upper(declared), _upper(declared) + step)]
        if declared.minimum is not None:
            edges.append((Decimal(declared.minimum), Decimal(declared.minimum) - step))
        for at, past in edges:
            loaded = cls.load_quantities({**base, declared.name: _value(declared, at)})
            assert loaded[declared.name] == at, (cls.code, declared.name)
            with pytest.raises(ValidationError) as excinfo:
                cls.load_quantities({**base, declared.name: _value(declared, past)})
            assert declared.name in excinfo.value.messages, (cls.code, declared.name)
            checked += 1
    assert checked >= 10


@given(name=st.from_regex(r"\A[a-z][a-z_]{0,20}\Z"))
def test_an_undeclared_field_is_refused_by_name(methodologies, name: str) -> None:
    for cls in methodologies.values():
        if cls.kind.get_field(name) is not None:
            continue
        with pytest.raises(ValidationError) as excinfo:
            cls.load_quantities({**cls.kind.samples[0], name: "1"})
        assert excinfo.value.messages[name] == ["Unknown field."]


def test_a_missing_required_field_is_refused_by_name(methodologies) -> None:
    for cls in methodologies.values():
        for declared in cls.kind.fields:
            if not declared.required:
                continue
            sample = {k: v for k, v in cls.kind.samples[0].items() if k != declared.name}
            with pytest.raises(ValidationError) as excinfo:
                cls.load_quantities(sample)
            assert declared.name in excinfo.value.messages
