"""Accounts through the JSON API: sign-up, tokens, the caller's account, and each bad input."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import Organisation, User, Verification
from app.accounts.roles import Role
from tests.factories import PASSWORD, make_user, next_mobile, texted_code_by_api


def count_users(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User))


def assert_error(response, status: int, reason: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == status
    assert body["reason"] == reason
    assert body["message"]
    if field:
        assert field in body["errors"], body
    return body


#: A code and the notice's acceptance: enough for a sign-up refused before its code is checked.
CODE = {"code": "000000", "accept_privacy_notice": True}


def test_resident_signs_up_and_gets_a_token(client, session):
    mobile = next_mobile()
    response = client.post(
        "/api/v1/residents",
        json={
            "mobile": f"+86 {mobile[:3]} {mobile[3:]}",
            "code": texted_code_by_api(client, mobile),
            "password": "low-carbon-2026",
            "display_name": "小绿",
            "accept_privacy_notice": True,
        },
    )
    assert response.status_code == 201
    assert response.get_json()["mobile"] == mobile
    assert response.get_json()["role"] == "resident"

    token = client.post(
        "/api/v1/auth/tokens", json={"mobile": mobile, "password": "low-carbon-2026"}
    )
    assert token.status_code == 201
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.get_json()["display_name"] == "小绿"


def test_revoked_token_no_longer_works(client, session):
    user = make_user(session)
    token = client.post(
        "/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    assert_error(client.get("/api/v1/me", headers=headers), 401, "authentication_required")


def test_organisation_signs_up_with_credit_code(client, session):
    mobile = next_mobile()
    response = client.post(
        "/api/v1/organisations",
        json={
            "mobile": mobile,
            "password": "green-org-2026",
            "name": "银川骑行俱乐部",
            "kind": "social_group",
            "credit_code": "91640100MA76XKQX2M",
            "code": texted_code_by_api(client, mobile),
            "accept_privacy_notice": True,
        },
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["role"] == "organisation"
    org = session.scalar(sa.select(Organisation).where(Organisation.name == "银川骑行俱乐部"))
    assert org.verification is Verification.PENDING  # queued for the bureau's review at once


def test_a_credit_code_with_a_wrong_check_character_is_refused(client, session):
    before = count_users(session)
    response = client.post(
        "/api/v1/organisations",
        json={
            "mobile": next_mobile(),
            "password": "green-org-2026",
            "name": "银川骑行俱乐部",
            "kind": "social_group",
            "credit_code": "91640100MA76XKQX2L",
            **CODE,
        },
    )
    assert_error(response, 422, "invalid_credit_code", "credit_code")
    assert count_users(session) == before


def test_duplicate_mobile_is_refused(client, session):
    user = make_user(session)
    before = count_users(session)
    response = client.post(
        "/api/v1/residents",
        json={"mobile": user.mobile, "password": "another-pass-1", "display_name": "x", **CODE},
    )
    assert_error(response, 409, "duplicate_mobile", "mobile")
    assert count_users(session) == before


def test_malformed_mobile_is_refused(client, session):
    before = count_users(session)
    for mobile in ("12345", "23800138000", "1380013800a", ""):
        response = client.post(
            "/api/v1/residents",
            json={"mobile": mobile, "password": "fine-pass-2026", "display_name": "x", **CODE},
        )
        assert_error(response, 422, "invalid_mobile", "mobile")
    assert count_users(session) == before


def test_weak_password_is_refused(client, session):
    mobile = next_mobile()
    for password in ("short1", "onlyletters", "1234567890", "password1", f"a{mobile}"):
        response = client.post(
            "/api/v1/residents",
            json={"mobile": mobile, "password": password, "display_name": "x", **CODE},
        )
        assert_error(response, 422, "weak_password", "password")
    assert (
        count_users(session) == 0
        or session.scalar(sa.select(User).where(User.mobile == mobile)) is None
    )


def test_body_of_the_wrong_shape_names_the_fields(client, session):
    before = count_users(session)
    body = assert_error(
        client.post("/api/v1/residents", json={"mobile": 13800138000}), 422, "invalid_input"
    )
    assert set(body["errors"]) >= {"mobile", "password", "display_name"}
    body = assert_error(
        client.post("/api/v1/residents", json=["not", "an", "object"]), 422, "invalid_input"
    )
    response = client.post("/api/v1/residents", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.get_json()["code"] == response.status_code
    assert count_users(session) == before


def test_wrong_password_and_unknown_account_get_the_same_answer(client, session):
    user = make_user(session)
    wrong = client.post(
        "/api/v1/auth/tokens", json={"mobile": user.mobile, "password": "wrong-pass-1"}
    )
    unknown = client.post(
        "/api/v1/auth/tokens", json={"mobile": next_mobile(), "password": PASSWORD}
    )
    assert_error(wrong, 401, "bad_credentials")
    assert_error(unknown, 401, "bad_credentials")
    assert wrong.get_json()["message"] == unknown.get_json()["message"]


def test_disabled_account_cannot_get_a_token(client, session):
    user = make_user(session, Role.BUREAU_REVIEWER)
    user.is_active = False
    session.flush()
    response = client.post(
        "/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD}
    )
    assert_error(response, 401, "bad_credentials")


def test_unauthenticated_call_gets_401_with_the_error_body(client):
    response = client.get("/api/v1/me")
    assert_error(response, 401, "authentication_required")
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer tph_forged"})
    assert_error(response, 401, "authentication_required")


def test_cookie_authenticated_api_change_needs_the_csrf_token(app, client, session):
    from tests.factories import csrf_token_from, log_in

    org = make_user(session, Role.ORGANISATION)
    resident = make_user(session)
    log_in(client, org)
    refused = client.post("/api/v1/organisation/invitations", json={"mobile": resident.mobile})
    assert refused.status_code == 400
    assert refused.get_json()["code"] == 400

    token = csrf_token_from(client, "/organisation")
    accepted = client.post(
        "/api/v1/organisation/invitations",
        json={"mobile": resident.mobile},
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 202, accepted.get_json()


def _bearer(client, user) -> dict[str, str]:
    token = client.post(
        "/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD}
    ).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_organisation_invites_and_the_resident_accepts_by_api(client, session):
    org = make_user(session, Role.ORGANISATION)
    resident = make_user(session)
    headers = _bearer(client, org)
    sent = client.post(
        "/api/v1/organisation/invitations", json={"mobile": resident.mobile}, headers=headers
    )
    assert sent.status_code == 202
    masked = resident.mobile[:3] + "****" + resident.mobile[-4:]
    assert sent.get_json()["mobile"] == masked and sent.get_json()["status"] == "pending"
    assert "display_name" not in sent.get_json()
    nobody = client.post(
        "/api/v1/organisation/invitations", json={"mobile": next_mobile()}, headers=headers
    )
    assert nobody.status_code == 202 and set(nobody.get_json()) == set(sent.get_json())
    assert client.get("/api/v1/organisation/members", headers=headers).get_json() == []
    pending = client.get("/api/v1/organisation/invitations", headers=headers).get_json()
    assert len(pending) == 2

    mine = _bearer(client, resident)
    received = client.get("/api/v1/me/invitations", headers=mine).get_json()
    assert [(r["organisation"]["name"], r["status"]) for r in received] == [
        (org.display_name, "pending")
    ]
    invitation_id = received[0]["id"]
    accepted = client.post(f"/api/v1/me/invitations/{invitation_id}/accept", headers=mine)
    assert accepted.status_code == 204
    again = client.post(f"/api/v1/me/invitations/{invitation_id}/decline", headers=mine)
    assert_error(again, 404, "invitation_not_found")
    listed = client.get("/api/v1/organisation/members", headers=headers).get_json()
    assert [m["id"] for m in listed] == [resident.id]
    assert (
        client.delete(f"/api/v1/organisation/members/{resident.id}", headers=headers).status_code
        == 204
    )
    assert client.get("/api/v1/organisation/members", headers=headers).get_json() == []
