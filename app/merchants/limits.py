"""Applications to join the alliance are limited per address, page and API together: each one
creates a manager account and tells whether a credit code is already registered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from flask_limiter.util import get_remote_address

from app.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])


def application_limit(view: F) -> F:
    """Every POST of an application counts, accepted or refused."""
    return limiter.shared_limit(
        lambda: current_app.config["MERCHANT_APPLICATION_LIMIT_PER_ADDRESS"],
        "merchant-application-address",
        key_func=lambda: "address:" + get_remote_address(),
        methods=["POST"],
    )(view)
