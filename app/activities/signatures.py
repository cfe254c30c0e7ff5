"""Who sent this request: Standard Webhooks signatures checked with the maintained library.

A partner signs ``webhook-id.webhook-timestamp.body`` with HMAC-SHA256 under its ``whsec_`` secret
and names the key in ``X-Partner-Key``. ``standardwebhooks.Webhook.verify`` recomputes the HMAC and
compares in constant time; the timestamp window is checked here first against the platform's clock
(300 s either way, the library's own tolerance too), so a stale request gets its own reason.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.activities import keys, partners
from app.errors import DomainError

KEY_HEADER = "X-Partner-Key"
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass(frozen=True, slots=True)
class Sender:
    """The verified sender of a request, as plain values."""

    partner_id: int
    partner_name: str
    allowed_kinds: frozenset[str]
    key_id: str
    message_id: str


def _refuse(reason: str, message: object) -> DomainError:
    return DomainError(reason, message, status=401)


def verify(
    session: Session,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance_seconds: int,
    secret_key: str,
) -> Sender:
    """The partner that signed ``body``, or a 401 DomainError saying what is wrong."""
    key_id = headers.get(KEY_HEADER, "").strip()
    if not key_id:
        raise _refuse("missing_key", _l("Name your key in the X-Partner-Key header."))
    found = partners.key_for_request(session, key_id)
    if found is None:
        raise _refuse("unknown_key", _l("This partner key is not known."))
    partner, key = found
    if key.revoked_at is not None:
        raise _refuse("revoked_key", _l("This partner key has been revoked."))
    signed = {name: headers.get(name, "") for name in SIGNATURE_HEADERS}
    if not all(signed.values()):
        raise _refuse(
            "missing_signature",
            _l("Send the webhook-id, webhook-timestamp and webhook-signature headers."),
        )
    if len(signed["webhook-id"]) > 255:
        raise _refuse("invalid_message_id", _l("webhook-id must be at most 255 characters."))
    try:
        timestamp = int(signed["webhook-timestamp"])
    except ValueError:
        raise _refuse(
            "invalid_timestamp", _l("webhook-timestamp must be whole seconds since 1970.")
        ) from None
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise _refuse(
            "stale_timestamp",
            _l(
                "webhook-timestamp is more than %(seconds)s seconds from the server's time.",
                seconds=tolerance_seconds,
            ),
        )
    secret = keys.decrypt_secret(secret_key, key.key_id, key.secret_ciphertext)
    try:
        Webhook(secret).verify(body, signed, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error):
        # ValueError covers a malformed signature list and a body that is not UTF-8.
        raise _refuse("bad_signature", _l("The signature does not match the request.")) from None
    return Sender(
        partner_id=partner.id,
        partner_name=partner.name,
        allowed_kinds=frozenset(partner.allowed_kinds),
        key_id=key.key_id,
        message_id=signed["webhook-id"],
    )
