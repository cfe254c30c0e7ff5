"""No input makes a reader crash: property-based fuzzing of every parser of outside input that the
API reaches (partner bodies, evidence uploads, QR payloads and typed codes).

Each property sends what hypothesis draws and asserts the answer is a success or a documented
4xx error body, never a 500. Bounded: a fixed number of derandomized examples per property.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts.roles import Role
from tests.activities.support import (
    BATCH_URL,
    STATUS_URL,
    approve_methodologies,
    make_partner,
    ride,
    signed_headers,
)
from tests.factories import PASSWORD, make_user
from tests.merchants.support import api_headers, make_merchant, make_staff

FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ERROR_KEYS = {"code", "status", "reason", "message", "errors", "details"}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
#: Fields of a partner item, each either plausible or anything at all.
item_fields = {
    "external_id": st.text(max_size=140) | json_values,
    "kind": st.sampled_from(["bus_ride", "metro_ride", "bike_trip", "gas_use", ""]) | json_values,
    "identifier": st.text(max_size=70) | json_values,
    "occurred_at": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
    | st.text(max_size=40)
    | json_values,
    "quantities": st.dictionaries(
        st.sampled_from(["distance_km", "duration_minutes", "steps", "kg", "x"]),
        st.text(max_size=12) | json_values,
        max_size=4,
    )
    | json_values,
    "evidence_url": st.none() | st.text(max_size=600),
}
partner_items = st.fixed_dictionaries({}, optional=item_fields) | json_values


def assert_answered(response) -> None:
    """A success, or the documented error body: never a server error."""
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    if response.status_code >= 400:
        body = response.get_json()
        assert isinstance(body, dict) and set(body) <= ERROR_KEYS, body
        assert body["code"] == response.status_code and body["message"]
        assert isinstance(body.get("errors", {}), dict)


@pytest.fixture
def partner(app, session):
    approve_methodologies(app, session)
    return make_partner(app, session, ["bus_ride", "metro_ride", "bike_trip"])


@FUZZ
@given(items=st.lists(partner_items, max_size=6), extra=st.dictionaries(st.text(), json_values))
def test_any_partner_batch_is_answered(client, partner, items, extra):
    body = json.dumps({**extra, "activities": items}).encode()
    assert_answered(client.post(BATCH_URL, data=body, headers=signed_headers(partner, body)))


@FUZZ
@given(payload=json_values | st.fixed_dictionaries({"external_ids": json_values}))
def test_any_partner_json_is_answered_by_both_endpoints(client, partner, payload):
    body = json.dumps(payload).encode()
    for url in (BATCH_URL, STATUS_URL):
        assert_answered(client.post(url, data=body, headers=signed_headers(partner, body)))


def signed_bytes(key, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers over any bytes (the library signs text only)."""
    headers = signed_headers(key, b"")
    secret = base64.b64decode(key.secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return headers | {"webhook-signature": "v1," + base64.b64encode(digest).decode()}


@FUZZ
@given(body=st.binary(max_size=300))
def test_any_partner_bytes_are_answered(client, partner, body):
    for url in (BATCH_URL, STATUS_URL):
        response = client.post(url, data=body, headers=signed_bytes(partner, body))
        assert_answered(response)
        assert response.status_code != 401, response.get_json()


def test_a_valid_item_beside_garbage_is_still_ingested(client, partner):
    good = ride("good-1", "CARD000001", datetime(2026, 11, 24, 1, tzinfo=UTC))
    body = json.dumps({"activities": [None, good, "x", {"kind": 1}]}).encode()
    response = client.post(BATCH_URL, data=body, headers=signed_headers(partner, body))
    answer = response.get_json()
    assert response.status_code == 200 and answer["received"] == 4
    assert [item["result"] for item in answer["results"]] == [
        "rejected",
        "accepted",
        "rejected",
        "rejected",
    ]


@pytest.fixture
def resident(app, client, session, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    approve_methodologies(app, session)
    user = make_user(session, Role.RESIDENT)
    session.commit()
    token = client.post("/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


#: A self-report that passes its fields' checks, so the upload itself is what is judged.
VALID_REPORT = {
    "kind": "recycling_weigh_in",
    "occurred_at": "2026-11-24T09:00:00+08:00",
    "material": "mixed_paper",
    "kg": "2.5",
}


@FUZZ
@given(
    content=st.binary(max_size=2048)
    | st.sampled_from([b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0"]).flatmap(
        lambda head: st.binary(max_size=512).map(lambda tail: head + tail)
    ),
    filename=st.text(max_size=80),
    content_type=st.sampled_from(
        ["image/jpeg", "image/png", "application/pdf", "text/html", "", "application/x-msdownload"]
    ),
    fields=st.dictionaries(
        st.sampled_from(["kind", "occurred_at", "kg", "material", "distance_km", "steps", "mode"]),
        st.text(max_size=40),
    )
    | st.just(VALID_REPORT),
)
def test_any_evidence_upload_is_answered(client, resident, content, filename, content_type, fields):
    data = {**fields, "evidence": (io.BytesIO(content), filename or "x", content_type or None)}
    response = client.post(
        "/api/v1/me/activities", data=data, headers=resident, content_type="multipart/form-data"
    )
    assert_answered(response)


@pytest.fixture
def cashier(client, session):
    merchant, _store = make_merchant(session)
    staff = make_staff(session, merchant, "cashier")
    session.commit()
    return api_headers(client, staff)


@FUZZ
@given(
    token=st.text(max_size=300)
    | st.from_regex(r"\A[0-9]{1,12}\Z")
    | st.from_regex(r"\A[A-Za-z0-9_.-]{10,200}\Z")
    | json_values,
    store_id=st.none() | st.integers(min_value=-1, max_value=2**64) | st.text(max_size=5),
)
def test_any_qr_payload_or_typed_code_is_answered(client, cashier, token, store_id):
    for url in ("/api/v1/merchant/redemptions/preview", "/api/v1/merchant/redemptions"):
        body = {"token": token} if store_id is None else {"token": token, "store_id": store_id}
        assert_answered(client.post(url, json=body, headers=cashier))
