"""Voucher codes that a parking gate or ticket machine can check offline with a shared key.

Scheme (version 1), so an operator can implement the check in any language:

1. ``message`` is the ASCII string ``tanpuhui-voucher-v1|<type code>|<redemption id>|<offer id>``,
   ids in decimal, e.g. ``tanpuhui-voucher-v1|parking_discount|1042|7``.
2. ``mac = HMAC-SHA256(key, message)``; its first 10 bytes, read big-endian, shifted right by 5 give
   a 75-bit number.
3. That number is written as 15 symbols of Crockford base32 (``0-9A-Z`` without ``I L O U``, most
   significant first), followed by one Luhn mod 32 check symbol over those 15, and grouped in fours:
   ``7KQ2-M9XA-0D4R-TB8F``.

Readers are forgiving the Crockford way: case, hyphens and spaces are ignored, and ``I``/``L`` read
as ``1``, ``O`` as ``0``. The check symbol catches every single mistyped symbol before the key is
needed, so a gate can say "mistyped" rather than "invalid". Nothing is stored: the platform
re-derives a code from the redemption row whenever it needs it.
"""

import hmac
import re
from hashlib import sha256

__all__ = [
    "ALPHABET",
    "MIN_SECRET_BYTES",
    "TYPE_CODE_PATTERN",
    "derive_code",
    "normalize_code",
    "verify_code",
    "voucher_message",
]

#: Crockford base32: no I, L, O (read as 1 and 0) and no U (avoids accidental words).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: A shorter key would let someone who sees a few codes brute-force the key and forge the rest.
MIN_SECRET_BYTES = 16
#: Reward type codes are entry-point names; the restricted set keeps ``|`` unambiguous in messages.
TYPE_CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")

_VERSION = "tanpuhui-voucher-v1"
_BODY_SYMBOLS = 15  # 75 bits: far beyond guessing at a gate, still short enough to type
_CODE_BITS = 5 * _BODY_SYMBOLS
_GROUP = 4
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})


def derive_code(secret: bytes, *, type_code: str, redemption_id: int, offer_id: int) -> str:
    """The voucher code of one redemption, in its grouped display form.

    The ids are keyword-only because swapping them would still produce a valid-looking code.
    """
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the voucher key must be at least {MIN_SECRET_BYTES} bytes")
    message = voucher_message(type_code=type_code, redemption_id=redemption_id, offer_id=offer_id)
    number = int.from_bytes(hmac.digest(secret, message, sha256)[:10], "big") >> (80 - _CODE_BITS)
    body = "".join(ALPHABET[(number >> shift) & 31] for shift in range(_CODE_BITS - 5, -1, -5))
    return _grouped(body + _check_symbol(body))


def voucher_message(*, type_code: str, redemption_id: int, offer_id: int) -> bytes:
    """Step 1 of the scheme: the ASCII message the key signs for one redemption."""
    if not TYPE_CODE_PATTERN.fullmatch(type_code):
        raise ValueError(f"not a reward type code: {type_code!r}")
    require_positive_id("redemption_id", redemption_id)
    require_positive_id("offer_id", offer_id)
    return f"{_VERSION}|{type_code}|{redemption_id}|{offer_id}".encode("ascii")


def normalize_code(code: str) -> str:
    """The grouped display form of a code as a resident or cashier typed it.

    Raises ``ValueError`` when the code cannot be one of ours (wrong length, a symbol outside the
    alphabet, or a check symbol that does not match), which needs no key to decide.
    """
    symbols = code.upper().translate(_READ_AS)
    if len(symbols) != _BODY_SYMBOLS + 1 or not all(s in ALPHABET for s in symbols):
        raise ValueError(
            f"a voucher code has {_BODY_SYMBOLS + 1} symbols from 0-9 and A-Z without U"
        )
    if _check_symbol(symbols[:-1]) != symbols[-1]:
        raise ValueError("the check symbol does not match: the code was mistyped")
    return _grouped(symbols)


def verify_code(
    secret: bytes, code: str, *, type_code: str, redemption_id: int, offer_id: int
) -> bool:
    """Whether ``code`` is the voucher code of this redemption; malformed input gives ``False``."""
    try:
        presented = normalize_code(code)
    except ValueError:
        return False
    expected = derive_code(
        secret, type_code=type_code, redemption_id=redemption_id, offer_id=offer_id
    )
    return hmac.compare_digest(presented, expected)


def require_positive_id(name: str, value: int) -> None:
    """Reject ids a code must not be derived from, such as ``None`` from a row not yet flushed."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_symbol(body: str) -> str:
    """Luhn mod 32: detects any single wrong symbol and most swaps of neighbours."""
    total = 0
    for position, symbol in enumerate(reversed(body)):
        addend = ALPHABET.index(symbol) * (2 if position % 2 == 0 else 1)
        total += addend // 32 + addend % 32
    return ALPHABET[-total % 32]


def _grouped(symbols: str) -> str:
    return "-".join(symbols[i : i + _GROUP] for i in range(0, len(symbols), _GROUP))
