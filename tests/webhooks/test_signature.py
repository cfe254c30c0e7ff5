"""The signature of a delivery against Standard Webhooks' published known-answer vector."""

from __future__ import annotations

from datetime import UTC, datetime

from app.webhooks.delivery import body_of, signed_headers

# The example of the Standard Webhooks specification (and Svix's documentation).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_matches_the_specifications_vector() -> None:
    at = datetime.fromtimestamp(TIMESTAMP, UTC)
    headers = signed_headers(SECRET, MESSAGE_ID, at, BODY)
    assert headers == {
        "content-type": "application/json",
        "webhook-id": MESSAGE_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": SIGNATURE,
    }


def test_one_changed_byte_changes_the_signature() -> None:
    at = datetime.fromtimestamp(TIMESTAMP, UTC)
    assert signed_headers(SECRET, MESSAGE_ID, at, BODY[:-1] + b" ")["webhook-signature"] != (
        SIGNATURE
    )
    later = datetime.fromtimestamp(TIMESTAMP + 1, UTC)
    assert signed_headers(SECRET, MESSAGE_ID, later, BODY)["webhook-signature"] != SIGNATURE


def test_the_body_is_compact_sorted_json_in_utf8() -> None:
    assert body_of({"type": "x", "data": {"名": 1}}) == '{"data":{"名":1},"type":"x"}'.encode()
