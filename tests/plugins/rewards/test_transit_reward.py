"""Transit discount: configuration, wording and the voucher a ticket machine accepts."""

from typing import Any

import pytest
from marshmallow import ValidationError

from rewards import FulfilmentContext, Text
from rewards.transit import TransitDiscount


@pytest.mark.parametrize(
    ("raw", "loaded"),
    [
        ({"rides": 2}, {"rides": 2, "valid_days": 30}),
        ({"fare_credit_fen": 500, "valid_days": 14}, {"fare_credit_fen": 500, "valid_days": 14}),
    ],
)
def test_valid_configs_load_with_defaults(raw: dict[str, Any], loaded: dict[str, Any]) -> None:
    assert TransitDiscount.load_config(raw) == loaded


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ({"rides": 2, "fare_credit_fen": 500}, {"rides", "fare_credit_fen"}),
        ({}, {"rides", "fare_credit_fen"}),
        ({"rides": 0}, {"rides"}),
        ({"rides": 101}, {"rides"}),
        ({"rides": 1.5}, {"rides"}),
        ({"fare_credit_fen": -100}, {"fare_credit_fen"}),
        ({"fare_credit_fen": 2.5}, {"fare_credit_fen"}),
        ({"fare_credit_fen": 10_000_001}, {"fare_credit_fen"}),
        ({"rides": 2, "valid_days": -1}, {"valid_days"}),
        ({"rides": 2, "card_number": "123"}, {"card_number"}),
    ],
)
def test_invalid_configs_name_the_field(raw: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        TransitDiscount.load_config(raw)
    assert set(excinfo.value.messages) == fields


@pytest.mark.parametrize(
    ("config", "summary"),
    [
        ({"rides": 2}, Text("公交地铁免费乘车 2 次", "2 free bus or metro rides")),
        ({"rides": 1}, Text("公交地铁免费乘车 1 次", "1 free bus or metro ride")),
        ({"fare_credit_fen": 500}, Text("公交地铁乘车金 5 元", "¥5 bus and metro fare credit")),
        (
            {"fare_credit_fen": 250},
            Text("公交地铁乘车金 2.50 元", "¥2.50 bus and metro fare credit"),
        ),
    ],
)
def test_summary_says_what_the_resident_gets(config: dict[str, Any], summary: Text) -> None:
    assert TransitDiscount.summary(config) == summary


def test_voucher_carries_the_benefit_and_expires(context: FulfilmentContext) -> None:
    fulfilment = TransitDiscount.fulfil({"fare_credit_fen": 500}, context)
    assert fulfilment.payload == {"fare_credit_fen": 500}
    assert fulfilment.valid_until is not None
    assert fulfilment.valid_until.isoformat() == "2025-03-31T09:30:00+08:00"
    assert "2025-03-31 09:30" in fulfilment.instructions.zh
    assert "2025-03-31 09:30" in fulfilment.instructions.en


def test_transit_needs_bureau_approval() -> None:
    assert TransitDiscount.public_service is True
