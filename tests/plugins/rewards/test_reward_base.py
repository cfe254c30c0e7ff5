"""The values reward types exchange with the platform, and the contract fulfil() enforces."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from marshmallow import Schema, ValidationError, fields

from rewards import (
    Fulfilment,
    FulfilmentContext,
    RewardContractError,
    RewardType,
    Text,
    verify_code,
)


class MinutesSchema(Schema):
    minutes = fields.Integer(
        strict=True, required=True, metadata={"label": Text("分钟", "Minutes")}
    )


class Scripted(RewardType):
    """A reward type whose output each test scripts, to probe what the base class accepts."""

    code = "scripted"
    name = Text("测试", "Test")
    description = Text("测试用。", "For tests.")
    public_service = False
    config_schema = MinutesSchema
    example_config: ClassVar[dict[str, Any]] = {"minutes": 5}
    overrides: ClassVar[dict[str, Any]] = {}

    @classmethod
    def describe(cls, config: dict[str, Any]) -> Text:
        return Text(f"{config['minutes']} 分钟", f"{config['minutes']} min")

    @classmethod
    def issue(cls, config: dict[str, Any], context: FulfilmentContext) -> Fulfilment:
        values: dict[str, Any] = {
            "code": cls.voucher_code(context),
            "instructions": Text("出示券码。", "Show the code."),
            "valid_until": context.issued_at + timedelta(days=1),
            "payload": {"minutes": config["minutes"]},
        }
        return Fulfilment(**(values | cls.overrides))


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Callable[..., type[Scripted]]:
    def script(**overrides: Any) -> type[Scripted]:
        monkeypatch.setattr(Scripted, "overrides", overrides)
        return Scripted

    return script


def test_text_picks_the_language_of_a_locale() -> None:
    text = Text("停车减免 60 分钟", "60 minutes of free parking")
    assert [text.in_locale(loc) for loc in ("zh_CN", "zh-Hans", "ZH", "en", "en_GB", "fr")] == [
        text.zh,
        text.zh,
        text.zh,
        text.en,
        text.en,
        text.en,
    ]
    assert text.to_dict() == {"zh": "停车减免 60 分钟", "en": "60 minutes of free parking"}


def test_context_keeps_the_secret_out_of_logs(context: FulfilmentContext) -> None:
    assert "secret" not in repr(context)
    assert context.secret.hex() not in repr(context)


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"redemption_id": None}, "redemption_id"),
        ({"redemption_id": 0}, "redemption_id"),
        ({"offer_id": True}, "offer_id"),
        ({"merchant_id": -1}, "merchant_id"),
        ({"issued_at": datetime(2025, 3, 1, 9, 30)}, "timezone-aware"),
        ({"secret": b"too short"}, "at least 16 bytes"),
    ],
)
def test_context_rejects_values_a_voucher_must_not_come_from(
    make_context: Callable[..., FulfilmentContext], override: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        make_context(**override)


def test_fulfilment_serialises_to_json(
    scripted: Callable[..., type[Scripted]], context: FulfilmentContext
) -> None:
    stored = json.loads(json.dumps(scripted().fulfil({"minutes": 5}, context).to_dict()))
    assert stored == {
        "code": Scripted.voucher_code(context),
        "instructions": {"zh": "出示券码。", "en": "Show the code."},
        "valid_until": "2025-03-02T09:30:00+08:00",
        "payload": {"minutes": 5},
    }
    assert verify_code(
        context.secret, stored["code"], type_code="scripted", redemption_id=1, offer_id=10
    )


def test_fulfil_revalidates_the_stored_config(
    scripted: Callable[..., type[Scripted]], context: FulfilmentContext
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        scripted().fulfil({"minutes": "5"}, context)
    assert "minutes" in excinfo.value.messages


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"code": "ABCD-EFGH-JKMN-PQRS"}, "voucher_code"),
        ({"instructions": "Show the code."}, "instructions must be Text"),
        ({"valid_until": datetime(2025, 3, 2, 9, 30)}, "timezone-aware"),
        ({"valid_until": datetime.fromisoformat("2025-03-01T09:30:00+08:00")}, "after issued_at"),
        ({"payload": {"amount": Decimal("1.5")}}, "JSON-safe"),
        ({"payload": {"amount": float("nan")}}, "JSON-safe"),
        ({"payload": {"rides": (1, 2)}}, "JSON keeps as is"),
        ({"payload": {1: "one"}}, "JSON keeps as is"),
        ({"payload": [1]}, "must be a dict"),
    ],
)
def test_fulfil_refuses_output_outside_the_contract(
    scripted: Callable[..., type[Scripted]],
    context: FulfilmentContext,
    override: dict[str, Any],
    problem: str,
) -> None:
    with pytest.raises(RewardContractError, match=problem):
        scripted(**override).fulfil({"minutes": 5}, context)


def test_summary_must_be_text() -> None:
    class Untranslated(Scripted):
        @classmethod
        def describe(cls, config: dict[str, Any]) -> Text:
            return "5 minutes"  # type: ignore[return-value]

    with pytest.raises(RewardContractError, match="must return Text"):
        Untranslated.summary({"minutes": 5})
