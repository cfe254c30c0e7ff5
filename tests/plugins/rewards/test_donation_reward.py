"""Donation: configuration, wording and the certificate number the resident keeps."""

from typing import Any

import pytest
from marshmallow import ValidationError

from rewards import FulfilmentContext, Text
from rewards.donation import Donation

TREES: dict[str, Any] = {
    "cause": {"zh": "城市植树造林", "en": "City tree planting"},
    "project_code": "TREES-2025",
}


def test_valid_config_loads_unchanged() -> None:
    assert Donation.load_config(TREES) == TREES


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        ({"project_code": "TREES-2025"}, {"cause": ["Missing data for required field."]}),
        ({"cause": TREES["cause"]}, {"project_code": ["Missing data for required field."]}),
        (
            TREES | {"cause": {"zh": "植树"}},
            {"cause": {"en": ["Missing data for required field."]}},
        ),
        (
            TREES | {"cause": {"zh": "", "en": "Trees"}},
            {"cause": {"zh": ["Length must be between 1 and 100."]}},
        ),
        (TREES | {"cause": "City tree planting"}, {"cause": {"_schema": ["Invalid input type."]}}),
        (
            TREES | {"cause": TREES["cause"] | {"fr": "Arbres"}},
            {"cause": {"fr": ["Unknown field."]}},
        ),
    ],
)
def test_invalid_cause_names_the_field(raw: dict[str, Any], errors: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Donation.load_config(raw)
    assert excinfo.value.messages == errors


@pytest.mark.parametrize("project_code", ["T", "-TREES", "TREES 2025", "树木", "X" * 33, 2025])
def test_invalid_project_code_names_the_field(project_code: object) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Donation.load_config(TREES | {"project_code": project_code})
    assert set(excinfo.value.messages) == {"project_code"}


def test_summary_names_the_cause() -> None:
    assert Donation.summary(TREES) == Text(
        "积分捐赠：城市植树造林", "A donation to City tree planting"
    )


def test_certificate_never_expires(context: FulfilmentContext) -> None:
    fulfilment = Donation.fulfil(TREES, context)
    assert fulfilment.valid_until is None
    assert fulfilment.payload == {
        "cause": {"zh": "城市植树造林", "en": "City tree planting"},
        "project_code": "TREES-2025",
        "donated_at": "2025-03-01T09:30:00+08:00",
    }
    assert "城市植树造林" in fulfilment.instructions.zh
    assert "certificate number" in fulfilment.instructions.en
