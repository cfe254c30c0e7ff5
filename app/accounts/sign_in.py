"""Rate limits on failed sign-ins, per account and per address, for pages and the API alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from app.accounts import services
from app.errors import DomainError
from app.extensions import limiter

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
    """Apply the per-account and per-address limits to a sign-in endpoint (POST only)."""
    per_address = limiter.limit(
        lambda: current_app.config["SIGN_IN_LIMIT_PER_ADDRESS"],
        key_func=lambda: "address:" + get_remote_address(),
        methods=["POST"],
        deduct_when=_failed,
        scope="sign-in-address",
    )
    per_account = limiter.limit(
        lambda: current_app.config["SIGN_IN_LIMIT_PER_ACCOUNT"],
        key_func=_attempted_account,
        methods=["POST"],
        deduct_when=_failed,
        scope="sign-in-account",
    )
    return per_address(per_account(view))
