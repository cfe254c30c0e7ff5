"""Rate limits on typed 8-digit codes that are refused, per staff account and per merchant, and on
the QR codes a resident requests.

A typed code is short enough to guess, so refused lookups are counted; a scanned QR code carries a
signature that cannot be guessed and is never slowed down, nor is a typed code that was found.
Pages and the API share the counts (the scopes are shared), stored where every other limit is
(``RATELIMIT_STORAGE_URI``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.errors import DomainError
from app.extensions import limiter
from app.redemption import tokens

F = TypeVar("F", bound=Callable[..., Any])


def _typed_code_sent() -> bool:
    data = request.get_json(silent=True) if request.is_json else request.form
    raw = data.get("token") if isinstance(data, dict) or hasattr(data, "get") else None
    return isinstance(raw, str) and tokens.is_typed_code(raw)


def _exempt() -> bool:
    """Only merchant staff are counted (anyone else is refused by the view)."""
    return not (current_user.is_authenticated and current_user.merchant_id is not None)


def _failed(_response: Any) -> bool:
    return bool(g.get("typed_code_failed"))


def _message() -> str:
    return str(
        _l(
            "Too many typed codes matched no QR code. Wait a few minutes, "
            "or scan the resident’s QR code with the camera."
        )
    )


def typed_code_limits(view: F) -> F:
    """Apply the per-staff and per-merchant limits on failed typed codes to a counter endpoint.

    Only a request that sends a typed code goes through the limiter: a scanned QR code is never
    limited, so the counter's busiest request skips the limiter's bookkeeping altogether.
    """
    per_staff = limiter.shared_limit(
        lambda: current_app.config["TYPED_CODE_LIMIT_PER_STAFF"],
        scope="typed-code-staff",
        key_func=lambda: f"staff:{current_user.id}",
        exempt_when=_exempt,
        deduct_when=_failed,
        error_message=_message,
    )
    per_merchant = limiter.shared_limit(
        lambda: current_app.config["TYPED_CODE_LIMIT_PER_MERCHANT"],
        scope="typed-code-merchant",
        key_func=lambda: f"merchant:{current_user.merchant_id}",
        exempt_when=_exempt,
        deduct_when=_failed,
        error_message=_message,
    )
    limited = per_merchant(per_staff(view))

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return (limited if _typed_code_sent() else view)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def counting_failed_codes(raw: str | None) -> Iterator[None]:
    """Count the request against the limits whenever a typed code is refused, whatever the
    reason (no such code, used, expired, another merchant's …): each refusal tells the guesser
    something."""
    try:
        yield
    except DomainError:
        if tokens.is_typed_code(raw or ""):
            g.typed_code_failed = True
        raise


def qr_token_limit(view: F) -> F:
    """QR codes one resident may request (pages and API together)."""
    return limiter.shared_limit(
        lambda: current_app.config["QR_TOKEN_LIMIT_PER_ACCOUNT"],
        "qr-token-account",
        key_func=lambda: f"account:{current_user.id}",
    )(view)
