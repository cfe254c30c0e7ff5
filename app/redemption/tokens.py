"""The QR token: a signed, compact string naming one ``redemption_tokens`` row, and its short code.

The QR carries ``TPH1:<token id>:<mac>``, where ``mac`` is the first 80 bits of
HMAC-SHA256(key, "redemption-token|<id>") in upper-case base32. Everything is in the QR code's
alphanumeric set, so the code stays small and scans fast from a phone screen. The row binds the
token to its resident and offer and holds its expiry; the signature only proves the platform
issued that id, so a guessed or altered id is refused without touching any row (a forged token
must not be able to burn somebody else's). The 8-digit code under the QR is for typing in when the
camera cannot read it; it is unique among live tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "TPH1"
CODE_DIGITS = 8
_MAC_BYTES = 10
_SIGNED = re.compile(rf"^{PREFIX}:([1-9]\d{{0,17}}):([A-Z2-7]{{16}})$")
_NUMERIC = re.compile(rf"^\d{{{CODE_DIGITS}}}$")


def signing_key(secret_key: str) -> bytes:
    """A key of its own for tokens, derived from the app's secret (never the secret itself)."""
    return hmac.digest(secret_key.encode(), b"tanpuhui.redemption-token.v1", hashlib.sha256)


def _mac(key: bytes, token_id: int) -> str:
    digest = hmac.digest(key, f"redemption-token|{token_id}".encode(), hashlib.sha256)
    return base64.b32encode(digest[:_MAC_BYTES]).decode()


def sign(key: bytes, token_id: int) -> str:
    return f"{PREFIX}:{token_id}:{_mac(key, token_id)}"


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(frozen=True, slots=True)
class Presented:
    """What a merchant presented: a verified token id, or a short code to look up."""

    token_id: int | None = None
    code: str | None = None


def _normalised(raw: str) -> str:
    """Spaces and case are forgiven (people type codes with spaces; scanners add newlines)."""
    return re.sub(r"\s+", "", raw or "").upper()


def is_typed_code(raw: str) -> bool:
    """Whether the input is the 8-digit code typed by hand rather than the QR code's string."""
    return bool(_NUMERIC.match(_normalised(raw)))


def read(key: bytes, raw: str) -> Presented | None:
    """Parse what the scanner or the cashier entered; ``None`` when it is not a token of ours."""
    text = _normalised(raw)
    if _NUMERIC.match(text):
        return Presented(code=text)
    match = _SIGNED.match(text)
    if match is None:
        return None
    token_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _mac(key, token_id)):
        return None
    return Presented(token_id=token_id)
