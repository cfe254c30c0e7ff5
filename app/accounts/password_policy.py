"""The one password rule for sign-up, staff accounts and password changes.

Length, not composition (OWASP ASVS 4.0.3 §2.1, NIST SP 800-63B §5.1.1.2): 12 to 128 characters of
any kind, spaces and any Unicode included, and no rules about letters, digits or symbols. A
password must not be one attackers try first: it is checked against the 30,000 most common
passwords of leaked password lists that zxcvbn ships (``zxcvbn.frequency_lists``, from Mark
Burnett's 10 million password corpus; MIT), offline. Nor may it contain the account's mobile
number, the one thing about the account anybody knows.
"""

from __future__ import annotations

import functools

from flask_babel import lazy_gettext as _l

from app.errors import DomainError

MIN_LENGTH = 12
MAX_LENGTH = 128


@functools.cache
def _known_passwords() -> frozenset[str]:
    """Leaked passwords long enough to pass the length rule (lower case, as zxcvbn lists them)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # a large module: loaded when first needed

    return frozenset(word for word in FREQUENCY_LISTS["passwords"] if len(word) >= MIN_LENGTH)


def is_known_password(password: str) -> bool:
    return password.lower() in _known_passwords()


def check_password(password: str, mobile: str, *, field: str = "password") -> None:
    """Refuse (422, ``weak_password``) a password the rule does not allow; say which part."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        message = _l(
            "Choose a password of %(least)d to %(most)d characters. Several words with spaces "
            "between them make a good one.",
            least=MIN_LENGTH,
            most=MAX_LENGTH,
        )
    elif mobile and mobile in password:
        message = _l("Choose a password that does not contain your mobile number.")
    elif is_known_password(password):
        message = _l(
            "This password is on a list of leaked passwords that attackers try first. "
            "Choose another."
        )
    else:
        return
    raise DomainError("weak_password", message, field=field)
