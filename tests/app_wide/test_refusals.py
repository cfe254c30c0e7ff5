"""Independent checks refuse together: one refusal as it is, several as one with every field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import Checks, Conflict, DomainError, Refusals


def _run(refusals: list[DomainError | None]) -> Checks:
    checks = Checks()
    for refusal in refusals:
        with checks.check():
            if refusal is not None:
                raise refusal
    return checks


def test_nothing_refused_raises_nothing():
    _run([None, None]).refuse()


def test_one_refusal_is_raised_as_it_is():
    alone = Conflict("duplicate_mobile", "taken", field="mobile")
    with pytest.raises(Conflict) as raised:
        _run([None, alone, None]).refuse()
    assert raised.value is alone and raised.value.status == 409


def test_several_refusals_are_one_with_every_field_and_detail():
    mobile = Conflict("duplicate_mobile", "taken", field="mobile")
    first = DomainError("weak_password", "too short", field="password")
    second = DomainError("weak_password", "no digits", field="password")
    config = DomainError("invalid_config", "check", field="config", details={"config_errors": 1})
    with pytest.raises(Refusals) as raised:
        _run([mobile, first, second, config]).refuse()
    refusal = raised.value
    assert (refusal.reason, refusal.status) == ("invalid_fields", 422)
    assert refusal.errors() == {
        "mobile": ["taken"], "password": ["too short", "no digits"], "config": ["check"],
    }  # fmt: skip
    assert refusal.details == {"config_errors": 1}


def test_a_refusal_naming_no_field_is_kept_too():
    with pytest.raises(Refusals) as raised:
        _run([DomainError("closed", "closed now"), DomainError("x", "bad", field="a")]).refuse()
    assert raised.value.errors() == {"_": ["closed now"], "a": ["bad"]}


@given(st.lists(st.sampled_from(["kind", "evidence", "occurred_at", None]), max_size=6))
def test_every_refusal_reaches_the_form_and_nothing_else(fields):
    refusals = [
        DomainError(f"r{n}", f"m{n}", field=field) if field else None
        for n, field in enumerate(fields)
    ]
    refused = [r for r in refusals if r is not None]
    try:
        _run(refusals).refuse()
    except DomainError as raised:
        found = raised.errors() or {}
    else:
        found = {}
    expected: dict[str, list[str]] = {}
    for refusal in refused:
        expected.setdefault(refusal.field, []).append(str(refusal.message))
    assert found == expected
