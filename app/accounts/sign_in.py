"""Rate limits on failed sign-ins, and on wrong current passwords given to change a password.

A failed sign-in counts, in one counter for the page and the API, against:

- the account from this address (``SIGN_IN_LIMIT_PER_ACCOUNT``): an attacker's failures from
  other addresses never lock the owner out;
- the account from every address together (``SIGN_IN_LIMIT_PER_ACCOUNT_TOTAL``), a much higher
  ceiling against guessing from many addresses. It does lock the owner out while it lasts; a lock
  the owner lifts with an SMS code waits for SMS (issue #11);
- the address, whatever account it names (``SIGN_IN_LIMIT_PER_ADDRESS``).

A refused (429) attempt checks no password and counts nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import current_app, g, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app.accounts import services
from app.error_handlers import keeping_writes
from app.errors import DomainError
from app.extensions import limiter
from app.observability import security_event

F = TypeVar("F", bound=Callable[..., Any])


def _attempted_account() -> str:
    """The account a sign-in attempt names (normalised, so spacing does not dodge the limit)."""
    data = request.get_json(silent=True) if request.is_json else request.form
    raw = str(data.get("mobile", "")) if isinstance(data, dict) or hasattr(data, "get") else ""
    try:
        return "account:" + services.normalise_mobile(raw)
    except DomainError:
        return "account:" + raw[:32]


def masked_account(raw: str | None) -> str:
    """The account a sign-in names, as the security log keeps it: masked, or ``invalid``."""
    try:
        return services.mask_mobile(services.normalise_mobile(raw or ""))
    except DomainError:
        return "invalid"


def _failed(_response: Any) -> bool:
    """Only failed attempts count against the limits; a correct password is never slowed down."""
    return bool(g.get("sign_in_failed"))


def sign_in_limits(view: F) -> F:
    """Apply the sign-in limits to a sign-in endpoint (POST only); every endpoint so decorated
    shares the same counters."""
    per_address = limiter.shared_limit(
        lambda: current_app.config["SIGN_IN_LIMIT_PER_ADDRESS"],
        "sign-in-address",
        key_func=lambda: "address:" + get_remote_address(),
        methods=["POST"],
        deduct_when=_failed,
    )
    per_account_here = limiter.shared_limit(
        lambda: current_app.config["SIGN_IN_LIMIT_PER_ACCOUNT"],
        "sign-in-account-address",
        key_func=lambda: _attempted_account() + "|address:" + get_remote_address(),
        methods=["POST"],
        deduct_when=_failed,
    )
    per_account = limiter.shared_limit(
        lambda: current_app.config["SIGN_IN_LIMIT_PER_ACCOUNT_TOTAL"],
        "sign-in-account",
        key_func=_attempted_account,
        methods=["POST"],
        deduct_when=_failed,
    )
    return per_address(per_account(per_account_here(view)))


def _signed_in_account() -> str:
    return "account:" + (str(current_user.id) if current_user.is_authenticated else "")


def password_change_limits(view: F) -> F:
    """Wrong current passwords are limited per account as failed sign-ins are (one counter for
    the page and the API), so the change form is no way to guess a password faster."""
    return limiter.shared_limit(
        lambda: current_app.config["SIGN_IN_LIMIT_PER_ACCOUNT"],
        "password-change-account",
        key_func=_signed_in_account,
        methods=["POST"],
        deduct_when=_failed,
    )(view)


@contextmanager
def keeping_wrong_password_audit() -> Iterator[None]:
    """Around a password change: a wrong current password is counted and logged, and its audit
    entry kept although the request fails (the service wrote nothing else)."""
    try:
        with keeping_writes():
            yield
    except services.WrongPassword:
        g.sign_in_failed = True
        security_event("password.change", "failure", user_id=current_user.id)
        raise


def _requested_number() -> str:
    """The number a code is asked for (normalised), from the page's form or the API's JSON."""
    data = request.get_json(silent=True) if request.is_json else request.form
    raw = data.get("mobile", "") if isinstance(data, dict) or hasattr(data, "get") else ""
    try:
        return "mobile:" + services.normalise_mobile(str(raw))
    except DomainError:
        return "mobile:invalid"


def _code_requested(_response: Any) -> bool:
    return bool(g.get("code_requested"))


def code_request_limits(view: F) -> F:
    """Codes asked for per number and per address (every purpose, page and API together),
    counted once a code was due to be sent, in the shared rate-limit store."""
    per_number = limiter.shared_limit(
        lambda: current_app.config["SMS_CODE_LIMIT_PER_NUMBER"],
        "sms-code-number",
        key_func=_requested_number,
        methods=["POST"],
        deduct_when=_code_requested,
    )
    per_address = limiter.shared_limit(
        lambda: current_app.config["SMS_CODE_LIMIT_PER_ADDRESS"],
        "sms-code-address",
        key_func=lambda: "address:" + get_remote_address(),
        methods=["POST"],
        deduct_when=_code_requested,
    )
    return per_address(per_number(view))


def _second_step_account() -> str:
    step = session.get("second_step")
    return "account:" + (str(step.get("uid")) if isinstance(step, dict) else "")


def second_factor_limits(view: F) -> F:
    """Wrong second-factor codes are limited per account like wrong passwords (the page and the
    token endpoint each count theirs), so six digits are not guessed by trying."""
    return limiter.shared_limit(
        lambda: current_app.config["SIGN_IN_LIMIT_PER_ACCOUNT"],
        "second-factor-account",
        key_func=_second_step_account,
        methods=["POST"],
        deduct_when=_failed,
    )(view)
