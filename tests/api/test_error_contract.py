"""Regressions of issue #18's answers that contradicted the document, each with the document's
own schema: every 4xx/5xx body validates against the one error schema."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import jsonschema_rs
import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.roles import Role
from app.activities.models import Activity
from app.api.fields import YUAN_PATTERN
from app.merchants.models import Offer
from app.redemption.schemas import StatementOut
from tests.activities.support import STATUS_URL, make_partner, signed_headers
from tests.factories import credentials, make_user
from tests.merchants.support import api_headers, make_merchant, make_staff
from tests.merchants.test_offers import offer_body


def bearer(client, user) -> dict[str, str]:
    token = client.post("/api/v1/auth/tokens", json=credentials(user))
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def assert_documented_error(document: dict, response, status: int, reason: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    schema = {**document["components"]["schemas"]["Error"], "components": document["components"]}
    jsonschema_rs.validate(schema, body)
    assert body["code"] == status and body["reason"] == reason and body["message"]
    return body


def test_an_invalid_body_to_the_partner_status_endpoint_is_a_422_naming_the_field(
    app, client, session, document
):
    key = make_partner(app, session, ["bus_ride"])
    for payload, field in (
        ({"external_ids": "not-a-list"}, "external_ids"),
        ({"external_ids": []}, "external_ids"),
        ({"external_ids": ["x"], "extra": 1}, "extra"),
        ([1, 2], "_schema"),
    ):
        body = json.dumps(payload).encode()
        response = client.post(STATUS_URL, data=body, headers=signed_headers(key, body))
        answer = assert_documented_error(document, response, 422, "invalid_body")
        assert field in answer["errors"], answer
    body = json.dumps({"external_ids": ["x"] * 5_000}).encode()
    at_limit = client.post(STATUS_URL, data=body, headers=signed_headers(key, body))
    assert at_limit.status_code == 200 and len(at_limit.get_json()["items"]) == 5_000
    body = json.dumps({"external_ids": ["x"] * 5_001}).encode()
    past = client.post(STATUS_URL, data=body, headers=signed_headers(key, body))
    assert "external_ids" in assert_documented_error(document, past, 422, "invalid_body")["errors"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_unreadable_json_is_a_400_whose_errors_are_an_object(client, session, document):
    users_before = session.scalar(sa.select(sa.func.count()).select_from(User))
    for url in ("/api/v1/auth/tokens", "/api/v1/residents", "/api/v1/merchants/applications"):
        response = client.post(url, data=b"\xb18\xd0", content_type="application/json")
        body = assert_documented_error(document, response, 400, "bad_request")
        assert body["errors"] == {"json": ["Invalid JSON body."]}
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before


def test_facts_of_a_refusal_are_under_details_as_documented(client, session, document):
    merchant, store = make_merchant(session)
    manager = api_headers(client, make_staff(session, merchant))
    body = offer_body(store.id, config={})
    response = client.post("/api/v1/merchant/offers", json=body, headers=manager)
    answer = assert_documented_error(document, response, 422, "invalid_config")
    assert "free_minutes" in answer["details"]["config_errors"]
    assert set(answer) <= {"code", "status", "reason", "message", "errors", "details"}
    assert session.scalar(sa.select(sa.func.count()).select_from(Offer)) == 0


@pytest.mark.parametrize("value", [0, 1, "true", "0", None, [], {}])
def test_a_boolean_field_takes_only_true_or_false(client, session, document, value):
    admin = make_user(session, Role.BUREAU_ADMIN)
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    headers = bearer(client, admin)
    url = f"/api/v1/bureau/staff/{reviewer.id}"
    refused = client.patch(url, json={"is_active": value}, headers=headers)
    answer = assert_documented_error(document, refused, 422, "invalid_input")
    assert "is_active" in answer["errors"]
    session.expire_all()
    assert session.get(User, reviewer.id).is_active is True
    accepted = client.patch(url, json={"is_active": False}, headers=headers)
    assert accepted.status_code == 200 and accepted.get_json()["is_active"] is False


def test_settlement_amounts_are_exact_strings_as_documented(document):
    documented = document["components"]["schemas"]["StatementOut"]["properties"]["amount_yuan"]
    assert documented["type"] == "string" and documented["pattern"] == YUAN_PATTERN
    line = document["components"]["schemas"]["StatementLineOut"]["properties"]["amount_yuan"]
    assert line["type"] == "string"
    for amount in (Decimal("0"), Decimal("5"), Decimal("14.99"), Decimal("-3.10")):
        dumped = StatementOut(only=("amount_yuan",)).dump({"amount_yuan": amount})["amount_yuan"]
        assert isinstance(dumped, str) and re.fullmatch(YUAN_PATTERN, dumped), dumped
        assert Decimal(dumped) == amount


def test_the_error_schema_allows_only_its_documented_keys(document):
    error = document["components"]["schemas"]["Error"]
    assert error["additionalProperties"] is False
    assert set(error["properties"]) == {"code", "status", "reason", "message", "errors", "details"}
