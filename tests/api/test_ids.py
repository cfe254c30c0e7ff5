"""Ids beyond the database's BIGINT range are refused where they enter, never a 500."""

from __future__ import annotations

import base64
import json

import pytest
from werkzeug.routing import IntegerConverter

from app.accounts.roles import Role
from app.api.ids import MAX_ID, IdConverter, parse_id
from tests.factories import credentials, make_user

PAST = MAX_ID + 1


def bearer(client, user) -> dict[str, str]:
    token = client.post("/api/v1/auth/tokens", json=credentials(user))
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def assert_error_body(response, status: int, reason: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == status and body["status"] and body["message"]
    if reason is not None:
        assert body["reason"] == reason
    return body


# (role or None for anonymous, method, path with {id}, JSON body, reason at the largest id)
PATH_CASES = [
    (None, "get", "/api/v1/offers/{id}", None, "offer_not_found"),
    (Role.RESIDENT, "delete", "/api/v1/me/links/{id}", None, "link_not_found"),
    (Role.RESIDENT, "get", "/api/v1/wallet/history/{id}", None, "transaction_not_found"),
    (Role.RESIDENT, "post", "/api/v1/wallet/offers/{id}/tokens", None, "offer_not_found"),
    (Role.BUREAU_ADMIN, "post", "/api/v1/bureau/merchants/{id}/decision",
     {"decision": "approve"}, "merchant_not_found"),
    (Role.BUREAU_ADMIN, "post", "/api/v1/bureau/offers/{id}/decision",
     {"approve": True}, "offer_not_found"),
]  # fmt: skip


@pytest.mark.parametrize(("role", "method", "path", "body", "reason"), PATH_CASES)
def test_a_path_id_at_the_bound_is_not_found_and_one_past_matches_no_route(
    client, session, role, method, path, body, reason
):
    headers = bearer(client, make_user(session, role)) if role else {}
    send = getattr(client, method)
    at_bound = send(path.format(id=MAX_ID), json=body, headers=headers)
    assert_error_body(at_bound, 404, reason)
    past = send(path.format(id=PAST), json=body, headers=headers)
    assert_error_body(past, 404, "not_found")
    far_past = send(path.format(id="9" * 5000), json=body, headers=headers)
    assert_error_body(far_past, 404, "not_found")


def test_a_query_id_past_the_bound_is_a_422_naming_it(client, session):
    at_bound = client.get(f"/api/v1/offers?merchant_id={MAX_ID}")
    assert at_bound.status_code == 200 and at_bound.get_json()["items"] == []
    past = client.get(f"/api/v1/offers?merchant_id={PAST}")
    assert "merchant_id" in assert_error_body(past, 422)["errors"]

    headers = bearer(client, make_user(session, Role.RESIDENT))
    status = f"/api/v1/wallet/offers/{MAX_ID}/redemption-status?since="
    assert client.get(status + str(MAX_ID), headers=headers).status_code < 500
    assert (
        "since" in assert_error_body(client.get(status + str(PAST), headers=headers), 422)["errors"]
    )


def test_a_body_id_past_the_bound_is_a_422_naming_it(client, session):
    headers = bearer(client, make_user(session, Role.BUREAU_ADMIN))
    url = "/api/v1/bureau/review/decisions"
    at_bound = client.post(
        url, json={"activity_ids": [MAX_ID], "decision": "approve"}, headers=headers
    )
    assert at_bound.status_code < 500, at_bound.get_data(as_text=True)
    past = client.post(url, json={"activity_ids": [PAST], "decision": "approve"}, headers=headers)
    assert "activity_ids" in assert_error_body(past, 422)["errors"]


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path", ["/api/v1/offers", "/api/v1/wallet/history", "/api/v1/me/activities"]
)
def test_a_cursor_past_the_bound_or_of_two_values_is_invalid(client, session, path):
    headers = bearer(client, make_user(session, Role.RESIDENT))
    ok = client.get(f"{path}?cursor={_cursor([MAX_ID])}", headers=headers)
    assert ok.status_code == 200, ok.get_data(as_text=True)
    for values in ([PAST], [1, 2], [True], []):
        response = client.get(f"{path}?cursor={_cursor(values)}", headers=headers)
        assert_error_body(response, 422, "invalid_cursor")


def test_pages_treat_an_id_past_the_bound_as_absent(client):
    assert client.get(f"/offers?merchant_id={PAST}").status_code == 200
    assert client.get(f"/offers?merchant_id={MAX_ID}").status_code == 200


def test_parse_id_accepts_only_ascii_digits_within_the_range():
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id("0007") == 7
    for text in (None, "", "0", str(PAST), "-1", "²", "١", "1.0", " 1", "9" * 5000):
        assert parse_id(text) is None


def test_the_openapi_document_names_the_bounds_of_path_and_query_ids(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    item = doc["paths"]["/api/v1/offers/{offer_id}"]
    (parameter,) = item["parameters"]
    assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    query = {p["name"]: p for p in doc["paths"]["/api/v1/offers"]["get"]["parameters"]}
    assert query["merchant_id"]["schema"]["maximum"] == MAX_ID


# --- every route ---------------------------------------------------------------------------------

WALKERS = (None, Role.RESIDENT, Role.ORGANISATION, Role.MERCHANT_STAFF, Role.BUREAU_ADMIN,
           Role.VERIFIER)  # fmt: skip


def _id_rules(app):
    for rule in app.url_map.iter_rules():
        ids = [name for name, c in rule._converters.items() if isinstance(c, IntegerConverter)]
        if ids:
            yield rule, ids


def test_every_integer_in_a_route_is_a_bounded_id(app):
    rules = list(_id_rules(app))
    assert len(rules) > 50
    for rule, names in rules:
        for name in names:
            assert isinstance(rule._converters[name], IdConverter), rule.rule


def test_every_route_answers_an_id_at_and_past_the_bound_without_a_500(app, client, session):
    """Each rule with an id, each method, as each kind of user: past the bound nothing matches
    (404, or 405 where a text argument takes the path); at the bound the handler refuses."""
    app.config["WTF_CSRF_ENABLED"] = False  # so that changes reach their handlers too
    users = {role: make_user(session, role) for role in WALKERS if role is not None}
    for role in WALKERS:
        if role is None:
            client.delete_cookie("session", domain="localhost")
        else:
            with client.session_transaction() as flask_session:
                flask_session["_user_id"] = str(users[role].id)
                flask_session["_fresh"] = True
        for rule, names in _id_rules(app):
            for value in (MAX_ID, PAST):
                if value == PAST and role is not None:
                    continue  # nothing matches: who asks cannot matter
                values = {name: value for name in names}
                values.update({k: "x" for k in rule.arguments if k not in values})
                _, path = rule.build(values, append_unknown=False)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = client.open(path, method=method, json={})
                    where = f"{method} {path} as {role}"
                    assert response.status_code < 500, where
                    if value == PAST:  # 405: a rule with a text argument has that path
                        assert response.status_code in (404, 405), where
