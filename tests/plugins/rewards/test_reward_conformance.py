"""Every registered reward type, built-in or installed, honours the contract."""

import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from rewards import FulfilmentContext, RewardType, Text, check_reward_type, verify_code
from rewards.codes import ALPHABET

ids = st.integers(min_value=1, max_value=2**63 - 1)
Types = dict[str, type[RewardType]]


def test_passes_the_load_time_checks(reward_code: str, reward_types: Types) -> None:
    assert check_reward_type(reward_types[reward_code], reward_code) is reward_types[reward_code]


def test_config_loads_to_json_and_reloads_unchanged(reward_code: str, reward_types: Types) -> None:
    reward = reward_types[reward_code]
    config = reward.load_config(reward.example_config)
    assert json.loads(json.dumps(config)) == config
    assert reward.load_config(config) == config


def test_unknown_config_keys_are_rejected(reward_code: str, reward_types: Types) -> None:
    reward = reward_types[reward_code]
    with pytest.raises(ValidationError) as excinfo:
        reward.load_config({**reward.example_config, "unexpected": 1})
    assert "unexpected" in excinfo.value.messages


def test_summary_is_bilingual(reward_code: str, reward_types: Types) -> None:
    summary = reward_types[reward_code].summary(reward_types[reward_code].example_config)
    assert isinstance(summary, Text)
    assert summary.zh.strip()
    assert summary.en.strip()


def test_fulfil_is_deterministic_and_json_safe(
    reward_code: str, reward_types: Types, context: FulfilmentContext
) -> None:
    reward = reward_types[reward_code]
    fulfilment = reward.fulfil(reward.example_config, context)
    assert reward.fulfil(reward.load_config(reward.example_config), context) == fulfilment
    stored = json.loads(json.dumps(fulfilment.to_dict()))
    assert stored["code"] == fulfilment.code
    assert fulfilment.valid_until is None or fulfilment.valid_until > context.issued_at


@given(redemption_id=ids, offer_id=ids)
def test_codes_verify_for_any_redemption(
    reward_code: str,
    reward_types: Types,
    make_context: Callable[..., FulfilmentContext],
    redemption_id: int,
    offer_id: int,
) -> None:
    reward = reward_types[reward_code]
    context = make_context(redemption_id=redemption_id, offer_id=offer_id)
    code = reward.fulfil(reward.example_config, context).code
    ids_ = {"redemption_id": redemption_id, "offer_id": offer_id}
    assert verify_code(context.secret, code, type_code=reward_code, **ids_)
    other = make_context(redemption_id=redemption_id % (2**63 - 1) + 1, offer_id=offer_id)
    assert reward.fulfil(reward.example_config, other).code != code


def test_a_one_symbol_change_fails_verification(
    reward_code: str, reward_types: Types, context: FulfilmentContext
) -> None:
    reward = reward_types[reward_code]
    code = reward.fulfil(reward.example_config, context).code
    for position, symbol in enumerate(code):
        if symbol == "-":
            continue
        changed = (
            code[:position] + ALPHABET[(ALPHABET.index(symbol) + 1) % 32] + code[position + 1 :]
        )
        assert not verify_code(
            context.secret, changed, type_code=reward_code, redemption_id=1, offer_id=10
        )
