"""Security events go to the structured log with account, address and outcome, never a secret;
the replay warning keeps its token, merchant and staff."""

from __future__ import annotations

import json
import logging

import pytest

from app.accounts.roles import Role
from app.observability import JsonFormatter
from tests.factories import PASSWORD, csrf_token_from, log_in, make_user

WRONG = "wrong-but-long-pass"


@pytest.fixture
def events(caplog) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="tanpuhui.security")
    return caplog


def security(events, event: str) -> list[logging.LogRecord]:
    return [r for r in events.records if r.name == "tanpuhui.security" and r.event == event]


def as_json(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter().format(record))


def test_api_sign_ins_are_logged_with_account_address_and_outcome(client, session, events):
    user = make_user(session)
    failed = client.post("/api/v1/auth/tokens", json={"mobile": user.mobile, "password": WRONG})
    assert failed.status_code == 401
    good = client.post("/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD})
    assert good.status_code == 201
    failure, success = (as_json(r) for r in security(events, "sign_in"))
    assert failure["outcome"] == "failure" and failure["via"] == "api"
    assert failure["account"] == f"{user.mobile[:3]}****{user.mobile[-4:]}"
    assert failure["address"] == "127.0.0.1" and failure["level"] == "WARNING"
    assert (success["outcome"], success["user_id"]) == ("success", user.id)
    created = as_json(security(events, "api_token.create")[0])
    assert created["user_id"] == user.id
    token = good.get_json()["token"]
    revoke = client.delete(
        "/api/v1/auth/tokens/current", headers={"Authorization": f"Bearer {token}"}
    )
    assert revoke.status_code == 204
    assert as_json(security(events, "api_token.revoke")[0])["user_id"] == user.id
    logged = " ".join(JsonFormatter().format(r) for r in events.records)
    assert WRONG not in logged and PASSWORD not in logged and token not in logged
    assert not security(events, "access_denied")  # a failed sign-in is logged once, as such


def test_page_sign_in_and_sign_out_are_logged(client, session, events):
    user = make_user(session)
    token = csrf_token_from(client, "/sign-in")
    form = {"csrf_token": token, "mobile": user.mobile}
    assert client.post("/sign-in", data=form | {"password": WRONG}).status_code == 401
    assert client.post("/sign-in", data=form | {"password": PASSWORD}).status_code == 302
    token = csrf_token_from(client, "/")
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    failure, success = security(events, "sign_in")
    assert (failure.outcome, failure.via, failure.user_id) == ("failure", "page", None)
    assert (success.outcome, success.user_id) == ("success", user.id)
    assert security(events, "sign_out")[0].user_id == user.id
    assert all(WRONG not in JsonFormatter().format(r) for r in events.records)


def test_an_unknown_or_malformed_account_is_masked_too(client, events):
    client.post("/api/v1/auth/tokens", json={"mobile": "13999999999", "password": WRONG})
    client.post("/api/v1/auth/tokens", json={"mobile": "not a number", "password": WRONG})
    assert [r.account for r in security(events, "sign_in")] == ["139****9999", "invalid"]


def test_access_denied_is_logged_with_who_and_where(client, session, events):
    resident = make_user(session, Role.RESIDENT)
    log_in(client, resident)
    assert client.get("/api/v1/bureau/staff").status_code == 403
    assert client.get("/bureau/staff").status_code == 403
    api, page = security(events, "access_denied")
    assert (api.user_id, api.status, api.path, api.outcome) == (
        resident.id,
        403,
        "/api/v1/bureau/staff",
        "refused",
    )
    assert page.path == "/bureau/staff"
    anonymous = security_after(client, events, "/api/v1/wallet")
    assert (anonymous.user_id, anonymous.status) == (None, 401)


def security_after(client, events, path: str) -> logging.LogRecord:
    client.delete_cookie("session", domain="localhost")
    assert client.get(path).status_code == 401
    return security(events, "access_denied")[-1]
