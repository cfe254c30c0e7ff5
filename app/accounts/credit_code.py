"""The unified social credit code (统一社会信用代码, GB 32100-2015) of organisations and merchants.

Eighteen characters: the registering authority, the type, six digits of the region, nine of the
organisation code and a check character computed from the other seventeen. Checking it catches
a mistyped code before a person at the bureau has to.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from app.errors import DomainError

#: The code's alphabet in the standard's order: digits and capitals without I, O, S, V and Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: The weight of each of the first seventeen characters (3^i mod 31).
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}\d{{6}}[{ALPHABET}]{{10}}$")


def check_character(first_seventeen: str) -> str:
    """The eighteenth character the standard computes from the first seventeen."""
    total = sum(
        ALPHABET.index(char) * weight
        for char, weight in zip(first_seventeen[:17], WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(raw: str | None) -> str | None:
    """The code as stored (upper case, no spaces), None for an empty one; a wrong one is refused."""
    code = (raw or "").strip().upper() or None
    if code is None:
        return None
    if not _SHAPE.match(code):
        raise DomainError(
            "invalid_credit_code",
            _l("The unified social credit code has 18 characters."),
            field="credit_code",
        )
    if check_character(code[:17]) != code[17]:
        raise DomainError(
            "invalid_credit_code",
            _l("This unified social credit code is not valid: check it for a typing mistake."),
            field="credit_code",
        )
    return code
