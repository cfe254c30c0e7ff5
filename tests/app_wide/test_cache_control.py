"""Personal answers carry ``Cache-Control: no-store``; public ones keep their caching."""

from __future__ import annotations

import pytest

from app.accounts.roles import Role
from tests.factories import PASSWORD, log_in, make_user
from tests.merchants.support import issue, make_scene

PERSONAL_PAGES = {
    Role.RESIDENT: ["/", "/me", "/wallet", "/activities", "/offers", "/methodologies"],
    Role.ORGANISATION: ["/organisation", "/wallet"],
    Role.MERCHANT_STAFF: ["/merchant", "/merchant/redemptions", "/merchant/settlement"],
    Role.BUREAU_ADMIN: ["/bureau/", "/bureau/staff"],
    Role.VERIFIER: ["/verifier"],
}


@pytest.mark.parametrize("role", list(PERSONAL_PAGES))
def test_pages_seen_signed_in_are_not_stored(client, session, role):
    log_in(client, make_user(session, role))
    for path in PERSONAL_PAGES[role]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_the_qr_page_and_personal_api_answers_are_not_stored(app, client, session):
    scene = make_scene(session)
    phone = app.test_client()
    log_in(phone, scene.resident)
    assert phone.get(f"/offers/{scene.offer.id}/qr").headers["Cache-Control"] == "no-store"
    issue(app, session, scene.resident, scene.offer)
    token = client.post(
        "/api/v1/auth/tokens", json={"mobile": scene.resident.mobile, "password": PASSWORD}
    )
    assert token.headers["Cache-Control"] == "no-store"  # the answer carries the token
    bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}
    for path in ("/api/v1/me", "/api/v1/wallet", "/api/v1/wallet/history"):
        response = client.get(path, headers=bearer)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    refused = client.get("/api/v1/bureau/staff", headers=bearer)
    assert (refused.status_code, refused.headers["Cache-Control"]) == (403, "no-store")


def test_public_answers_and_the_openapi_document_stay_cacheable(client, session):
    for path in ("/", "/offers", "/methodologies", "/api/v1/openapi.json", "/api/v1/statistics"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
    log_in(client, make_user(session))
    document = client.get("/api/v1/openapi.json")
    assert "no-store" not in document.headers.get("Cache-Control", "")
    with client.get("/static/favicon.svg") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")
