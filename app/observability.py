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
from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request

from app.db import db

log = logging.getLogger("tanpuhui.request")
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


class JsonFormatter(logging.Formatter):
    """One JSON object per line, carrying the request id so a request's lines can be found."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
        for key in ("method", "path", "status", "duration_ms", "user_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


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
