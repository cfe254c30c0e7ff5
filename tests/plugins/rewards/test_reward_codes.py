"""Voucher codes: the documented scheme, round trips, and rejection of anything else."""

import hmac
import re
from hashlib import sha256

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rewards import derive_code, normalize_code, verify_code
from rewards.codes import ALPHABET, TYPE_CODE_PATTERN

KEY = b"operator-shared-key-0123456789ab"
CODE_SHAPE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")

keys = st.binary(min_size=16, max_size=64)
ids = st.integers(min_value=1, max_value=2**63 - 1)
type_codes = st.from_regex(TYPE_CODE_PATTERN, fullmatch=True)


def code_for(
    key: bytes = KEY,
    type_code: str = "parking_discount",
    redemption_id: int = 1042,
    offer_id: int = 7,
) -> str:
    return derive_code(key, type_code=type_code, redemption_id=redemption_id, offer_id=offer_id)


def verifies(code: str, key: bytes = KEY, type_code: str = "parking_discount") -> bool:
    return verify_code(key, code, type_code=type_code, redemption_id=1042, offer_id=7)


def test_known_answer_pins_the_scheme() -> None:
    # Changing this value would invalidate every voucher already in residents' hands.
    assert code_for(b"k" * 16) == "REBM-W8BN-9MFN-SGM6"


def test_code_follows_the_documented_scheme() -> None:
    """Re-derive a code from the module docstring's steps, as an operator would."""
    message = b"tanpuhui-voucher-v1|parking_discount|1042|7"
    number = int.from_bytes(hmac.new(KEY, message, sha256).digest()[:10], "big") >> 5
    body = "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(15)))
    code = code_for().replace("-", "")
    assert code[:15] == body
    # Luhn mod 32 validation: doubling every second symbol from the right, the sum is 0 mod 32.
    total = 0
    for position, symbol in enumerate(reversed(code)):
        addend = ALPHABET.index(symbol) * (2 if position % 2 else 1)
        total += addend // 32 + addend % 32
    assert total % 32 == 0


@given(key=keys, type_code=type_codes, redemption_id=ids, offer_id=ids)
def test_codes_round_trip(key: bytes, type_code: str, redemption_id: int, offer_id: int) -> None:
    code = derive_code(key, type_code=type_code, redemption_id=redemption_id, offer_id=offer_id)
    assert CODE_SHAPE.fullmatch(code)
    assert normalize_code(code) == code
    for typed in (code, code.lower(), code.replace("-", ""), code.replace("-", " ")):
        assert verify_code(
            key, typed, type_code=type_code, redemption_id=redemption_id, offer_id=offer_id
        )


def test_look_alike_letters_read_as_digits() -> None:
    code = next(
        candidate
        for candidate in (code_for(redemption_id=n) for n in range(1, 1000))
        if "0" in candidate and "1" in candidate
    )
    typed = code.replace("0", "o").replace("1", "l", 1).replace("1", "I")
    assert normalize_code(typed) == code


@given(
    redemption_id=ids,
    position=st.integers(min_value=0, max_value=15),
    shift=st.integers(min_value=1, max_value=31),
)
def test_any_single_symbol_change_is_caught(redemption_id: int, position: int, shift: int) -> None:
    symbols = list(code_for(redemption_id=redemption_id).replace("-", ""))
    symbols[position] = ALPHABET[(ALPHABET.index(symbols[position]) + shift) % 32]
    mistyped = "".join(symbols)
    with pytest.raises(ValueError, match="mistyped"):
        normalize_code(mistyped)
    assert not verify_code(
        KEY, mistyped, type_code="parking_discount", redemption_id=redemption_id, offer_id=7
    )


@given(first=ids, second=ids)
def test_each_redemption_gets_its_own_code(first: int, second: int) -> None:
    assume(first != second)
    assert code_for(redemption_id=first) != code_for(redemption_id=second)


@pytest.mark.parametrize(
    ("key", "type_code", "redemption_id", "offer_id"),
    [
        (b"another-operator-key-0123456789", "parking_discount", 1042, 7),
        (KEY, "transit_discount", 1042, 7),
        (KEY, "parking_discount", 1043, 7),
        (KEY, "parking_discount", 1042, 8),
        (KEY, "parking_discount", 7, 1042),
    ],
)
def test_code_is_bound_to_key_type_and_ids(
    key: bytes, type_code: str, redemption_id: int, offer_id: int
) -> None:
    assert not verify_code(
        key, code_for(), type_code=type_code, redemption_id=redemption_id, offer_id=offer_id
    )


@given(st.text(max_size=40))
def test_garbage_is_rejected_without_raising(garbage: str) -> None:
    assume(garbage.upper() != code_for())
    assert not verifies(garbage)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("REBM-W8BN-9MFN-SGM", "16 symbols"),
        ("REBM-W8BN-9MFN-SGM6X", "16 symbols"),
        ("REBM-W8BN-9MFN-SGMU", "without U"),
        ("REBM_W8BN_9MFN_SGM6", "16 symbols"),
        ("REBM-W8BN-9MFN-SGM7", "mistyped"),
    ],
)
def test_normalize_explains_why_a_code_is_not_ours(typed: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalize_code(typed)


@pytest.mark.parametrize(
    ("key", "type_code", "redemption_id", "offer_id", "problem"),
    [
        (b"short", "coupon", 1, 1, "at least 16 bytes"),
        (KEY, "Coupon", 1, 1, "type code"),
        (KEY, "coupon|x", 1, 1, "type code"),
        (KEY, "coupon", 0, 1, "redemption_id"),
        (KEY, "coupon", None, 1, "redemption_id"),
        (KEY, "coupon", True, 1, "redemption_id"),
        (KEY, "coupon", 1, -3, "offer_id"),
    ],
)
def test_derive_refuses_inputs_that_would_weaken_or_confuse_codes(
    key: bytes, type_code: str, redemption_id: int, offer_id: int, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        derive_code(key, type_code=type_code, redemption_id=redemption_id, offer_id=offer_id)
