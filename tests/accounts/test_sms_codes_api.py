"""SMS codes and consents through the JSON API: each bad input is the documented error body and
changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import Consent, User
from tests.factories import make_user, next_mobile, texted_code_by_api


def _error(response, status: int, reason: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["code"] == status and body["reason"] == reason and body["message"]
    if field:
        assert field in body["errors"]
    return body


def _users(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User))


def _sign_up(client, mobile: str, code: str | None, accept: bool = True):
    return client.post(
        "/api/v1/residents",
        json={"mobile": mobile, "code": code or "", "password": "low-carbon-2026",
              "display_name": "小绿", "accept_privacy_notice": accept},
    )  # fmt: skip


def test_codes_are_requested_and_bad_requests_refused(client, session):
    body = {"mobile": next_mobile(), "purpose": "sign_up"}
    response = client.post("/api/v1/auth/sms-codes", json=body)
    assert response.status_code == 202 and response.get_json() == {"expires_in_seconds": 300}
    _error(
        client.post("/api/v1/auth/sms-codes", json={"mobile": "12345", "purpose": "sign_up"}),
        422, "invalid_mobile", "mobile",
    )  # fmt: skip
    _error(
        client.post("/api/v1/auth/sms-codes", json={"mobile": next_mobile(), "purpose": "x"}),
        422, "invalid_input", "purpose",
    )  # fmt: skip


def test_sign_up_by_api_needs_the_code_and_the_notice(client, session):
    mobile = next_mobile()
    code = texted_code_by_api(client, mobile)
    before = _users(session)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    _error(_sign_up(client, mobile, wrong), 400, "wrong_code", "code")
    _error(_sign_up(client, mobile, code, accept=False), 400, "consent_required", "consent")
    _error(_sign_up(client, next_mobile(), code), 400, "wrong_code", "code")  # another number
    assert _users(session) == before
    assert _sign_up(client, mobile, code).status_code == 201
    user = session.scalar(sa.select(User).where(User.mobile == mobile))
    (consent,) = session.scalars(sa.select(Consent).where(Consent.user_id == user.id))
    assert consent.channel == "api" and consent.notice_version
    _error(_sign_up(client, next_mobile(), code), 400, "wrong_code", "code")  # reused


def test_a_token_by_code_and_a_reset_by_code(client, session):
    client.application.config["SMS_CODE_LIMIT_PER_NUMBER"] = "5 per minute"
    user = make_user(session)
    session.commit()
    code = texted_code_by_api(client, user.mobile, "sign_in")
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    _error(
        client.post("/api/v1/auth/tokens/by-code", json={"mobile": user.mobile, "code": wrong}),
        400, "wrong_code", "code",
    )  # fmt: skip
    issued = client.post("/api/v1/auth/tokens/by-code", json={"mobile": user.mobile, "code": code})
    assert issued.status_code == 201
    headers = {"Authorization": f"Bearer {issued.get_json()['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    _error(
        client.post("/api/v1/auth/tokens/by-code", json={"mobile": user.mobile, "code": code}),
        400, "wrong_code", "code",
    )  # fmt: skip
    reset_code = texted_code_by_api(client, user.mobile, "reset")
    body = {"mobile": user.mobile, "code": reset_code, "new_password": "a-new-pass-2027"}
    _error(
        client.post("/api/v1/auth/password-reset", json={**body, "new_password": "short"}),
        422, "weak_password", "new_password",
    )  # fmt: skip
    assert client.post("/api/v1/auth/password-reset", json=body).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401  # the token ended
    _error(client.post("/api/v1/auth/password-reset", json=body), 400, "wrong_code", "code")


def test_too_many_code_requests_are_the_documented_429(client, session):
    client.application.config["SMS_CODE_LIMIT_PER_NUMBER"] = "2 per day"
    mobile = next_mobile()
    url, body = "/api/v1/auth/sms-codes", {"mobile": mobile, "purpose": "sign_up"}
    assert [client.post(url, json=body).status_code for _ in range(2)] == [202, 202]
    _error(client.post(url, json=body), 429, "too_many_requests")


def test_consents_by_api_and_a_withdrawal_twice(app, client, session):
    from tests.activities.support import approve_methodologies, make_partner

    approve_methodologies(app, session)
    make_partner(app, session, ["bus_ride"], name="银川公交")
    resident = make_user(session)
    session.commit()
    code = texted_code_by_api(client, resident.mobile, "sign_in")
    token = client.post(
        "/api/v1/auth/tokens/by-code", json={"mobile": resident.mobile, "code": code}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    linked = client.post(
        "/api/v1/me/links", json={"kind": "transit_card", "identifier": "CARD-9090"},
        headers=headers,
    )  # fmt: skip
    assert linked.status_code == 201
    listed = client.get("/api/v1/me/consents", headers=headers).get_json()
    partner = next(item for item in listed if item["purpose"] == "data_partner")
    assert partner["partner"] == "银川公交" and partner["sends"] == ["bus_ride"]
    assert partner["channel"] == "api" and partner["withdrawn_at"] is None
    assert "CARD-9090" not in str(listed)
    url = f"/api/v1/me/consents/{partner['id']}/withdraw"
    withdrawn = client.post(url, headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["withdrawn_at"]
    rows = session.scalar(sa.select(sa.func.count()).select_from(Consent))
    _error(client.post(url, headers=headers), 409, "already_withdrawn")
    notice = next(item for item in listed if item["purpose"] == "privacy_notice")
    _error(
        client.post(f"/api/v1/me/consents/{notice['id']}/withdraw", headers=headers),
        409, "notice_not_withdrawable",
    )  # fmt: skip
    _error(client.post("/api/v1/me/consents/999999/withdraw", headers=headers), 404,
           "consent_not_found")  # fmt: skip
    assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == rows
