"""Request ids, structured logs, security headers and the health endpoint."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    request,
    session,
)

from app.db import db

log = logging.getLogger("tanpuhui.request")
security_log = logging.getLogger("tanpuhui.security")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


#: What every log record has; anything else on a record came as ``extra`` and is written out.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, carrying the request id so a request's lines can be found, and
    every field the caller passed as ``extra`` (a replayed token's id, merchant and staff)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def security_event(
    event: str,
    outcome: str,
    *,
    user_id: int | None = None,
    account: str | None = None,
    **fields: Any,
) -> None:
    """Log a security event (sign-in, sign-out, password change, token, refusal) with the account,
    the caller's address and the outcome. Callers pass identifiers, never a password or token.
    """  # fmt: skip
    address = request.remote_addr if has_request_context() else None
    level = logging.INFO if outcome == "success" else logging.WARNING
    security_log.log(
        level,
        "security event %s: %s (user %s, account %s, address %s)",
        event, outcome, user_id, account, address,
        extra={"event": event, "outcome": outcome, "user_id": user_id, "account": account,
               "address": address, **fields},
    )  # fmt: skip


def configure_logging(app: Flask) -> None:
    root = logging.getLogger("tanpuhui")
    if not any(getattr(h, "_tanpuhui", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._tanpuhui = True  # type: ignore[attr-defined]
        if app.config["LOG_JSON"]:
            handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    app.logger.handlers = root.handlers
    app.logger.setLevel(app.config["LOG_LEVEL"])
    logging.getLogger("app").handlers = root.handlers
    logging.getLogger("app").setLevel(app.config["LOG_LEVEL"])


def init_request_hooks(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(self), geolocation=(), microphone=()"
        if current_app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.endpoint != "static":
            _keep_personal_answers_out_of_caches(response)
            _log_refusal(response)
        if request.endpoint != "static" and log.isEnabledFor(logging.INFO):
            started = g.get("request_started")
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                    if started
                    else None,
                },
            )
        return response


#: Answers that are the same for everyone, signed in or not, and may be cached.
CACHEABLE_ENDPOINTS = frozenset({"static", "api-docs.openapi_json", "api_docs.assets"})


def _personal_answer() -> bool:
    """Whether the answer is the caller's own: the request carried credentials (a bearer token,
    a signed-in session) or changed something (a new token, a sign-up, a sign-in)."""
    return (
        request.method not in ("GET", "HEAD")
        or "Authorization" in request.headers
        or "_user_id" in session
    )


def _keep_personal_answers_out_of_caches(response: Response) -> None:
    """What a signed-in caller sees (pages and API answers) is theirs: no browser, proxy or
    back button may keep it. Public pages for anonymous visitors keep their caching."""
    if request.endpoint in CACHEABLE_ENDPOINTS or not _personal_answer():
        return
    if "no-store" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "no-store"


def _log_refusal(response: Response) -> None:
    """A refused request (401, 403) or one stopped by a limit (429) is a security event; a
    failed sign-in is logged as such by the sign-in itself."""
    if response.status_code not in (401, 403, 429) or g.get("sign_in_failed"):
        return
    user = g.get("_login_user")
    user_id = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    security_event(
        "rate_limited" if response.status_code == 429 else "access_denied",
        "refused",
        user_id=user_id,
        status=response.status_code,
        method=request.method,
        path=request.path,
    )


health = Blueprint("health", __name__)


@health.get("/livez")
def livez() -> dict[str, str]:
    """For process supervisors: the worker answers. A database outage must not restart it."""
    return {"status": "ok"}


@health.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        log.exception("health check: database unavailable")
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200
