"""Plain HTTP to a running platform, one connection a call (the topology tests' clients)."""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from app import clock
from app.activities import simulator

TIMEOUT = 150  # the proxy's queue timeout (60 s) and a slow request fit well inside


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    """The status and JSON body (or text) of one request."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        text = response.read().decode()
        try:
            return response.status, json.loads(text) if text else {}
        except ValueError:
            return response.status, {"text": text[:500]}
    finally:
        connection.close()


def signed_partner_request(
    base_url: str,
    credentials: simulator.PartnerCredentials,
    body: bytes,
    *,
    message_id: str | None = None,
) -> tuple[int, Any]:
    """A partner batch signed as Standard Webhooks say, under the partner's key."""
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    now = clock.now()
    headers = {
        "X-Partner-Key": credentials.key_id,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(credentials.secret).sign(message_id, now, body.decode()),
    }
    return call(base_url, "POST", "/api/v1/partner/activities", headers=headers, raw=body)
