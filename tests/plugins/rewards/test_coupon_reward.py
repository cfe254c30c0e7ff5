"""Merchant coupon: configuration, wording (including 折) and the voucher shown at the till."""

from typing import Any

import pytest
from marshmallow import ValidationError

from rewards import FulfilmentContext, Text
from rewards.coupon import MerchantCoupon


@pytest.mark.parametrize(
    ("raw", "loaded"),
    [
        ({"amount_off_fen": 1000}, {"amount_off_fen": 1000, "valid_days": 30}),
        (
            {"percent_off": 20, "min_spend_fen": 10000, "valid_days": 60},
            {"percent_off": 20, "min_spend_fen": 10000, "valid_days": 60},
        ),
        (
            {"amount_off_fen": 2000, "min_spend_fen": 2000},
            {"amount_off_fen": 2000, "min_spend_fen": 2000, "valid_days": 30},
        ),
    ],
)
def test_valid_configs_load_with_defaults(raw: dict[str, Any], loaded: dict[str, Any]) -> None:
    assert MerchantCoupon.load_config(raw) == loaded


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ({"amount_off_fen": 1000, "percent_off": 10}, {"amount_off_fen", "percent_off"}),
        ({"min_spend_fen": 5000}, {"amount_off_fen", "percent_off"}),
        ({"amount_off_fen": 0}, {"amount_off_fen"}),
        ({"amount_off_fen": -1000}, {"amount_off_fen"}),
        ({"amount_off_fen": 9.99}, {"amount_off_fen"}),
        ({"percent_off": 0}, {"percent_off"}),
        ({"percent_off": 91}, {"percent_off"}),
        ({"percent_off": 100}, {"percent_off"}),
        ({"percent_off": 12.5}, {"percent_off"}),
        ({"percent_off": "20"}, {"percent_off"}),
        ({"percent_off": 20, "min_spend_fen": -1}, {"min_spend_fen"}),
        ({"percent_off": 20, "min_spend_fen": 50.0}, {"min_spend_fen"}),
        ({"amount_off_fen": 2000, "min_spend_fen": 1000}, {"min_spend_fen"}),
    ],
)
def test_invalid_configs_name_the_field(raw: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        MerchantCoupon.load_config(raw)
    assert set(excinfo.value.messages) == fields


@pytest.mark.parametrize(
    ("config", "summary"),
    [
        ({"amount_off_fen": 1000}, Text("立减 10 元", "¥10 off")),
        (
            {"amount_off_fen": 1000, "min_spend_fen": 5000},
            Text("满 50 元减 10 元", "¥10 off when you spend ¥50 or more"),
        ),
        ({"percent_off": 20}, Text("享 8 折", "20% off")),
        ({"percent_off": 15}, Text("享 8.5 折", "15% off")),
        ({"percent_off": 90}, Text("享 1 折", "90% off")),
        (
            {"percent_off": 12, "min_spend_fen": 9950},
            Text("满 99.50 元享 8.8 折", "12% off when you spend ¥99.50 or more"),
        ),
    ],
)
def test_summary_says_what_the_resident_gets(config: dict[str, Any], summary: Text) -> None:
    assert MerchantCoupon.summary(config) == summary


def test_voucher_carries_the_terms_and_expires(context: FulfilmentContext) -> None:
    fulfilment = MerchantCoupon.fulfil({"percent_off": 20, "min_spend_fen": 10000}, context)
    assert fulfilment.payload == {"percent_off": 20, "min_spend_fen": 10000}
    assert fulfilment.valid_until is not None
    assert fulfilment.valid_until.isoformat() == "2025-03-31T09:30:00+08:00"
    assert "2025-03-31 09:30" in fulfilment.instructions.zh


def test_a_merchants_coupon_needs_no_bureau_approval() -> None:
    assert MerchantCoupon.public_service is False
