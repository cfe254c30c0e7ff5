"""The city's SMS gateway: a signed JSON request per code.

The body is ``{"mobile", "template_id", "params": {"code"}, "sign_name", "timestamp", "nonce"}``
and the ``X-Signature`` header is the hex HMAC-SHA256, under the gateway key, of
``"<timestamp>.<body>"``. A 2xx answer ``{"ok": true}`` means sent; a timeout, an unreachable
gateway or a 5xx is a failure, any other answer a refusal: each raises :class:`SendFailed`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from typing import Any

from app import clock
from app.accounts.sms import SenderSettings, SendFailed


def signature(key: str, timestamp: int, body: bytes) -> str:
    """The request's X-Signature: hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    return hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


class HttpSender:
    name = "http"

    def __init__(self, settings: SenderSettings) -> None:
        if not settings.gateway_url.startswith(("https://", "http://")):
            raise ValueError("SMS_GATEWAY_URL must be the gateway's http(s) address")
        if not settings.gateway_key:
            raise ValueError("SMS_GATEWAY_KEY is required by the http sender")
        self.settings = settings

    def request_body(self, mobile: str, code: str, purpose: str, timestamp: int) -> bytes:
        template = self.settings.templates.get(purpose)
        if not template:
            raise SendFailed(f"no template id for {purpose}")
        payload: dict[str, Any] = {
            "mobile": mobile,
            "template_id": template,
            "params": {"code": code},
            "sign_name": self.settings.sign_name,
            "timestamp": timestamp,
            "nonce": secrets.token_hex(8),
        }
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    def send(self, mobile: str, code: str, purpose: str) -> None:
        timestamp = int(clock.now().timestamp())
        body = self.request_body(mobile, code, purpose, timestamp)
        request = urllib.request.Request(  # noqa: S310  (the scheme is checked at start-up)
            self.settings.gateway_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Timestamp": str(timestamp),
                "X-Signature": signature(self.settings.gateway_key, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=self.settings.timeout_seconds
            ) as response:
                answer = response.read(4096)
        except urllib.error.HTTPError as exc:
            kind = "failed" if exc.code >= 500 else "refused"
            raise SendFailed(f"gateway {kind} ({exc.code})") from None
        except TimeoutError:
            raise SendFailed("gateway timed out") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SendFailed(f"gateway unreachable ({type(exc).__name__})") from None
        try:
            accepted = json.loads(answer).get("ok") is True
        except (ValueError, AttributeError):
            accepted = False
        if not accepted:
            raise SendFailed("gateway refused the message")
