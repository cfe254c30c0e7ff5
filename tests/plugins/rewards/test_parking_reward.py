"""Parking discount: configuration, wording and the voucher a car park accepts."""

from typing import Any

import pytest
from marshmallow import ValidationError

from rewards import FulfilmentContext, Text
from rewards.parking import ParkingDiscount


@pytest.mark.parametrize(
    ("raw", "loaded"),
    [
        ({"free_minutes": 60}, {"free_minutes": 60, "valid_days": 30}),
        ({"free_minutes": 1440, "valid_days": 7}, {"free_minutes": 1440, "valid_days": 7}),
        ({"amount_off_fen": 500}, {"amount_off_fen": 500, "valid_days": 30}),
    ],
)
def test_valid_configs_load_with_defaults(raw: dict[str, Any], loaded: dict[str, Any]) -> None:
    assert ParkingDiscount.load_config(raw) == loaded


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ({"free_minutes": 60, "amount_off_fen": 500}, {"free_minutes", "amount_off_fen"}),
        ({}, {"free_minutes", "amount_off_fen"}),
        ({"valid_days": 30}, {"free_minutes", "amount_off_fen"}),
        ({"free_minutes": 0}, {"free_minutes"}),
        ({"free_minutes": -30}, {"free_minutes"}),
        ({"free_minutes": 1441}, {"free_minutes"}),
        ({"free_minutes": 30.5}, {"free_minutes"}),
        ({"free_minutes": None}, {"free_minutes"}),
        ({"amount_off_fen": -500}, {"amount_off_fen"}),
        ({"amount_off_fen": 12.5}, {"amount_off_fen"}),
        ({"amount_off_fen": 500.0}, {"amount_off_fen"}),
        ({"amount_off_fen": "500"}, {"amount_off_fen"}),
        ({"amount_off_fen": True}, {"amount_off_fen"}),
        ({"free_minutes": 60, "valid_days": 0}, {"valid_days"}),
        ({"free_minutes": 60, "valid_days": 367}, {"valid_days"}),
        ({"free_minute": 60}, {"free_minute"}),
    ],
)
def test_invalid_configs_name_the_field(raw: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        ParkingDiscount.load_config(raw)
    assert set(excinfo.value.messages) == fields


def test_both_alternatives_get_a_message_saying_so() -> None:
    with pytest.raises(ValidationError) as excinfo:
        ParkingDiscount.load_config({"free_minutes": 60, "amount_off_fen": 500})
    message = ["Give only one of free_minutes or amount_off_fen."]
    assert excinfo.value.messages == {"free_minutes": message, "amount_off_fen": message}


@pytest.mark.parametrize(
    ("config", "summary"),
    [
        ({"free_minutes": 60}, Text("停车减免 60 分钟", "60 minutes of free parking")),
        ({"free_minutes": 1}, Text("停车减免 1 分钟", "1 minute of free parking")),
        ({"amount_off_fen": 1000}, Text("停车费减免 10 元", "¥10 off parking")),
        ({"amount_off_fen": 1550}, Text("停车费减免 15.50 元", "¥15.50 off parking")),
        ({"amount_off_fen": 5}, Text("停车费减免 0.05 元", "¥0.05 off parking")),
    ],
)
def test_summary_says_what_the_resident_gets(config: dict[str, Any], summary: Text) -> None:
    assert ParkingDiscount.summary(config) == summary


def test_voucher_carries_the_benefit_and_expires(context: FulfilmentContext) -> None:
    fulfilment = ParkingDiscount.fulfil({"free_minutes": 90, "valid_days": 7}, context)
    assert fulfilment.payload == {"free_minutes": 90}
    assert fulfilment.valid_until is not None
    assert fulfilment.valid_until.isoformat() == "2025-03-08T09:30:00+08:00"
    assert "2025-03-08 09:30 前有效" in fulfilment.instructions.zh
    assert "Valid until 2025-03-08 09:30." in fulfilment.instructions.en


def test_parking_needs_bureau_approval() -> None:
    assert ParkingDiscount.public_service is True
