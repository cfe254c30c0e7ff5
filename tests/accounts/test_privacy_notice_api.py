"""A changed privacy notice is enforced on the API as on the pages: until the resident accepts
the current version, API calls are refused with ``privacy_notice_not_accepted`` (zh or en by
Accept-Language), except reading and accepting the notice, signing out and their data rights."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import Consent
from app.accounts.roles import Role
from app.activities.models import LinkedIdentifier
from tests.factories import credentials, make_user

NEW_VERSION = "2027-01-01"


def _bearer(client, user) -> dict[str, str]:
    token = client.post("/api/v1/auth/tokens", json=credentials(user)).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _notices(session, user_id: int) -> list[tuple[str, str]]:
    return [
        (c.notice_version, c.channel)
        for c in session.scalars(
            sa.select(Consent).where(Consent.user_id == user_id).order_by(Consent.id)
        )
    ]


def test_a_changed_notice_stops_resident_api_calls_until_accepted(app, client, session):
    resident = make_user(session)
    session.commit()
    headers = _bearer(client, resident)
    assert client.get("/api/v1/wallet", headers=headers).status_code == 200
    old_version = app.config["PRIVACY_NOTICE_VERSION"]
    app.config["PRIVACY_NOTICE_VERSION"] = NEW_VERSION
    before = _notices(session, resident.id)

    refused = client.get("/api/v1/wallet", headers=headers)
    assert refused.status_code == 403
    body = refused.get_json()
    assert body["reason"] == "privacy_notice_not_accepted" and "隐私政策" in body["message"]
    assert set(body) >= {"code", "status", "reason", "message"}
    english = client.get("/api/v1/wallet", headers={**headers, "Accept-Language": "en"})
    assert "privacy notice has changed" in english.get_json()["message"]
    # A change is refused before it is made.
    link = client.post(
        "/api/v1/me/links", json={"kind": "transit_card", "identifier": "CARD-7788"},
        headers=headers,
    )  # fmt: skip
    assert link.get_json()["reason"] == "privacy_notice_not_accepted"
    assert session.scalar(sa.select(sa.func.count()).select_from(LinkedIdentifier)) == 0

    state = client.get("/api/v1/me/privacy-notice", headers=headers).get_json()
    assert state == {
        "version": NEW_VERSION, "accepted_version": old_version, "accepted": False,
        "url": "/privacy",
    }  # fmt: skip
    declined = client.post("/api/v1/me/privacy-notice", json={"accept": False}, headers=headers)
    assert declined.status_code == 400 and declined.get_json()["reason"] == "consent_required"
    for bad in ({"accept": "yes"}, {}, {"accept": 1}):
        response = client.post("/api/v1/me/privacy-notice", json=bad, headers=headers)
        assert response.status_code == 422, bad
    assert _notices(session, resident.id) == before

    accepted = client.post("/api/v1/me/privacy-notice", json={"accept": True}, headers=headers)
    assert accepted.status_code == 200
    assert accepted.get_json()["accepted"] is True
    assert _notices(session, resident.id) == [*before, (NEW_VERSION, "api")]
    assert client.get("/api/v1/wallet", headers=headers).status_code == 200
    again = client.post("/api/v1/me/privacy-notice", json={"accept": True}, headers=headers)
    assert again.status_code == 200
    assert _notices(session, resident.id) == [*before, (NEW_VERSION, "api")]  # nothing more


def test_data_rights_and_signing_out_do_not_wait_for_the_notice(app, client, session):
    resident = make_user(session)
    session.commit()
    headers = _bearer(client, resident)
    app.config["PRIVACY_NOTICE_VERSION"] = NEW_VERSION
    assert client.get("/api/v1/me/data-exports", headers=headers).status_code == 200
    assert client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204


def test_organisations_are_held_to_the_notice_and_staff_are_not(app, client, session):
    organisation = make_user(session, Role.ORGANISATION)
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    reviewer.must_change_password = False
    session.commit()
    org_headers = _bearer(client, organisation)
    staff_headers = _bearer(client, reviewer)
    app.config["PRIVACY_NOTICE_VERSION"] = NEW_VERSION
    org = client.get("/api/v1/me", headers=org_headers)
    assert org.status_code == 403 and org.get_json()["reason"] == "privacy_notice_not_accepted"
    assert client.get("/api/v1/me", headers=staff_headers).status_code == 200
    staff_notice = client.get("/api/v1/me/privacy-notice", headers=staff_headers)
    assert staff_notice.status_code == 403
    assert client.get("/api/v1/me/privacy-notice").status_code == 401
