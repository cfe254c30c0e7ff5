"""Self-reports through the JSON API: multipart/form-data with the receipt, the same rules as the
page, one error body for each bad input, and only residents and organisations may send them."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.activities.models import Activity, ActivitySource, ActivityStatus, EvidenceFile
from tests.factories import credentials, csrf_token_from, log_in, make_user

URL = "/api/v1/me/activities"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
RECYCLING = {
    "kind": "recycling_weigh_in",
    "occurred_at": "2026-11-24T10:30:00+08:00",
    "material": "mixed_paper",
    "kg": "2",
}


def _bearer(client, user) -> dict[str, str]:
    response = client.post("/api/v1/auth/tokens", json=credentials(user))
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _send(client, fields: dict[str, Any], evidence: bytes | None = PNG, **options: Any):
    data: dict[str, Any] = dict(fields)
    if evidence is not None:
        data["evidence"] = (io.BytesIO(evidence), "receipt.png")
    return client.post(URL, data=data, content_type="multipart/form-data", **options)


def _activities(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Activity))


def test_a_resident_reports_a_drop_off_with_its_receipt(city, client, session):
    resident = make_user(session)
    headers = _bearer(client, resident)
    response = _send(client, RECYCLING, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "flagged"
    assert (body["kind"], body["source"]) == ("recycling_weigh_in", "self_report")
    assert [reason["code"] for reason in body["reasons"]] == ["self_reported"]
    assert body["quantities"]["kg"] == "2" and body["points"] is None

    activity = session.get(Activity, body["id"])
    assert activity.participant_id == resident.id
    assert (activity.source, activity.status) == (
        ActivitySource.SELF_REPORT,
        ActivityStatus.FLAGGED,
    )
    receipt = session.get(EvidenceFile, activity.evidence_id)
    assert (receipt.owner_id, receipt.content_type) == (resident.id, "image/png")
    listed = client.get(URL, headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [activity.id]


def test_a_report_without_a_receipt_waits_for_review_too(city, client, session):
    walk = {"kind": "walk", "occurred_at": "2026-11-24T07:00:00+08:00", "steps": "8000"}
    response = _send(client, walk, evidence=None, headers=_bearer(client, make_user(session)))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "flagged"
    assert session.get(Activity, response.get_json()["id"]).evidence_id is None


def test_a_cookie_call_needs_the_csrf_token(city, client, session):
    log_in(client, make_user(session, Role.ORGANISATION))
    refused = _send(client, RECYCLING)
    assert refused.status_code == 400 and refused.get_json()["reason"] == "csrf_failed"
    assert _activities(session) == 0
    token = csrf_token_from(client, "/activities/report")
    accepted = _send(client, RECYCLING, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201, accepted.get_json()
    as_a_part = _send(client, RECYCLING | {"csrf_token": token})  # as a page's form sends it
    assert as_a_part.status_code == 201, as_a_part.get_json()


BAD_INPUT = [
    pytest.param({"kind": None}, PNG, 422, "invalid_input", "kind", id="kind missing"),
    pytest.param({"occurred_at": None}, PNG, 422, "invalid_input", "occurred_at", id="no time"),
    pytest.param(
        {"occurred_at": "2026-11-24T10:30"}, PNG, 422, "invalid_input", "occurred_at",
        id="time without offset",
    ),
    pytest.param(
        {"occurred_at": "2026-11-25T10:30:00+08:00"}, PNG, 422, "in_future", "occurred_at",
        id="in the future",
    ),
    pytest.param(
        {"kind": "electricity_use"}, PNG, 422, "unknown_kind", "kind", id="not self-reportable"
    ),
    pytest.param({"kg": None}, PNG, 422, "invalid_quantities", "kg", id="quantity missing"),
    pytest.param({"kg": "-1"}, PNG, 422, "invalid_quantities", "kg", id="quantity invalid"),
    pytest.param({}, b"GIF89a" + b"\x00" * 32, 415, "evidence_type", "evidence", id="gif"),
    pytest.param({}, PNG + b"\x00" * 2048, 413, "evidence_too_large", "evidence", id="too large"),
    pytest.param({"evidence": "not a file"}, None, 422, "invalid_input", "evidence", id="text"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "evidence", "status", "reason", "field"), BAD_INPUT)
def test_bad_input_is_refused_with_the_one_error_body(
    city, client, session, change, evidence, status, reason, field
):
    city.config["EVIDENCE_MAX_BYTES"] = 1024
    fields = {name: value for name, value in (RECYCLING | change).items() if value is not None}
    response = _send(client, fields, evidence, headers=_bearer(client, make_user(session)))
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert (body["code"], body["reason"]) == (status, reason)
    assert field in body["errors"] and body["message"]
    assert _activities(session) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)) == 0


def test_a_body_over_the_request_limit_is_refused(city, client, session):
    city.config["MAX_CONTENT_LENGTH"] = 4096
    response = _send(
        client, RECYCLING, PNG + b"\x00" * 8192, headers=_bearer(client, make_user(session))
    )
    assert response.status_code == 413 and response.get_json()["reason"] == "too_large"
    assert _activities(session) == 0


@pytest.mark.parametrize("role", [Role.MERCHANT_STAFF, Role.BUREAU_REVIEWER, Role.VERIFIER])
def test_other_roles_cannot_self_report(city, client, session, role):
    response = _send(client, RECYCLING, headers=_bearer(client, make_user(session, role)))
    assert response.status_code == 403 and response.get_json()["reason"] == "forbidden"
    assert _send(client, RECYCLING).status_code == 401
    assert _activities(session) == 0


def test_the_openapi_document_describes_the_multipart_body(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"][URL]["post"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    schema = spec["components"]["schemas"][name]
    evidence = schema["properties"]["evidence"]
    assert (evidence["type"], evidence["format"]) == ("string", "binary")
    assert set(schema["required"]) == {"kind", "occurred_at"}
    assert {"201", "413", "415", "422"} <= set(operation["responses"])
