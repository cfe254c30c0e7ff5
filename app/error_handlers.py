"""The web edge of errors: the one error body every 4xx/5xx uses, for the API and pages.

Services raise :class:`app.errors.DomainError` with a machine-readable reason and a readable
message; this turns it into the JSON error body (``{code, status, reason, message, errors,
details}``) for the API, or a message on the page. Unhandled exceptions become a generic 500
that never shows exception text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from app.db import db
from app.errors import DomainError

log = logging.getLogger(__name__)


@contextmanager
def keeping_writes() -> Iterator[None]:
    """Commit the request's writes when a refusal that keeps them (``keep_writes``) ends it.

    The request then ends in an error status and rolls back nothing more, whether the view
    renders the refusal itself or lets the error handler answer.
    """
    try:
        yield
    except DomainError as error:
        if error.keep_writes:
            db.session.commit()
        raise


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def error_body(
    status: int,
    reason: str,
    message: str,
    errors: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The documented error body (:class:`app.extensions.ErrorSchema`): the facts a refusal
    carries for machines (a balance, the known kinds …) go under ``details``, never beside the
    documented keys."""
    body: dict[str, Any] = {
        "code": status,
        "status": HTTP_STATUS_CODES.get(status, "Error"),
        "reason": reason,
        "message": message,
    }
    if errors:
        body["errors"] = errors
    if details:
        body["details"] = details
    return body


_DEFAULT_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in first."),
    403: _l("You do not have permission to do this."),
    404: _l("The page or item you asked for does not exist."),
    405: _l("This action is not allowed here."),
    413: _l("The request is too large."),
    422: _l("Some of the information you sent is not valid."),
    429: _l("Too many attempts. Please wait a while and try again."),
    500: _l("Something went wrong on our side. The error has been logged."),
}


_CSRF_MESSAGE = _l(
    "Your form has expired or came from another site. Please refresh the page and try again."
)


def _message_for(exc: HTTPException) -> str:
    if isinstance(exc, CSRFError):
        return str(_CSRF_MESSAGE)
    if isinstance(exc, RateLimitExceeded) and exc.limit.error_message:
        return str(exc.description)  # a limit that words its own refusal
    data = getattr(exc, "data", None) or {}
    if "message" in data:
        return str(data["message"])
    return str(_DEFAULT_MESSAGES.get(exc.code or 500, exc.name))


def register(app: Flask) -> None:
    """One handler for HTTP errors, domain errors and crashes; JSON for the API, pages elsewhere."""

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response | tuple[Any, int]:
        if is_api_request():
            body = error_body(exc.status, exc.reason, str(exc.message), exc.errors(), exc.details)
            return jsonify(body), exc.status
        flash(str(exc.message), "error")
        return render_template(
            "error.html", status=exc.status, message=str(exc.message)
        ), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | tuple[Any, int]:
        status = exc.code or 500
        if isinstance(exc, InternalServerError):
            original = getattr(exc, "original_exception", None)
            if original is not None:
                log.error("unhandled exception", exc_info=original)
        headers = dict(exc.get_headers()) if status != 500 else {}
        headers.pop("Content-Type", None)
        message = _message_for(exc)
        if is_api_request():
            data = getattr(exc, "data", None) or {}
            errors = data.get("errors") or data.get("messages")
            errors = _field_errors(errors)
            reason = data.get("reason") or (
                "csrf_failed" if isinstance(exc, CSRFError) else _reason_for(status)
            )
            return jsonify(error_body(status, reason, message, errors)), status, headers
        if status == 401:
            return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))
        return render_template("error.html", status=status, message=message), status, headers


def _field_errors(errors: Any) -> dict[str, Any] | None:
    """Field name → messages, as documented. webargs nests them by location: the single location
    a route reads is flattened; a message about the whole body (``["Invalid JSON body."]``) stays
    under its location's name, so ``errors`` is always an object."""
    if not errors:
        return None
    if not isinstance(errors, dict):
        return {"_body": errors if isinstance(errors, list) else [str(errors)]}
    if set(errors) <= _LOCATIONS and len(errors) == 1:
        inner = next(iter(errors.values()))
        if isinstance(inner, dict):
            return inner
    return errors


#: Where webargs reads arguments from (``multipart``: see :mod:`app.api.multipart`).
_LOCATIONS = frozenset({"json", "query", "form", "headers", "multipart"})


def _reason_for(status: int) -> str:
    return {
        400: "bad_request",
        401: "authentication_required",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        422: "invalid_input",
        429: "too_many_requests",
        500: "internal_error",
    }.get(status, "error")
