"""Notice and consent: the privacy notice's version, re-acceptance when it changes, a consent per
data partner when an identifier is linked, and its withdrawal (append-only, crediting stops,
held activities purged)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.accounts.models import Consent
from app.activities.models import Activity, ActivityStatus, LinkedIdentifier
from app.ledger.models import Issuance
from tests.activities.support import at, make_partner, partner_status, post_batch, ride
from tests.factories import PASSWORD, csrf_token_from, log_in, make_user


def _rows(session) -> list[tuple]:
    return [
        (c.id, c.action, c.grant_id, c.partner_name, c.notice_version, c.created_at)
        for c in session.scalars(sa.select(Consent).order_by(Consent.id))
    ]


def _sign_in(client, mobile: str):
    token = csrf_token_from(client, "/sign-in")
    return client.post(
        "/sign-in", data={"csrf_token": token, "mobile": mobile, "password": PASSWORD}
    )


def test_a_new_notice_version_is_accepted_at_the_next_sign_in(app, client, session):
    resident = make_user(session)
    session.commit()
    before = _rows(session)
    app.config["PRIVACY_NOTICE_VERSION"] = "2027-01-01"
    response = _sign_in(client, resident.mobile)
    assert response.headers["Location"].endswith("/me/privacy-notice")
    # Every other page leads back to the notice until it is accepted.
    assert client.get("/me").headers["Location"].endswith("/me/privacy-notice")
    page = client.get("/me/privacy-notice").get_data(as_text=True)
    assert "隐私政策已更新" in page and "2027-01-01" in page
    token = csrf_token_from(client, "/me/privacy-notice")
    refused = client.post("/me/privacy-notice", data={"csrf_token": token})
    assert refused.status_code == 400 and "请阅读并同意隐私政策" in refused.get_data(as_text=True)
    assert _rows(session) == before
    accepted = client.post("/me/privacy-notice", data={"csrf_token": token, "consent": "y"})
    assert accepted.status_code == 302
    assert client.get("/me").status_code == 200
    after = _rows(session)
    assert after[: len(before)] == before  # the earlier consent is kept as it was
    (new,) = after[len(before) :]
    assert new[1] == "granted" and new[4] == "2027-01-01"
    # Signed in again under the same version, nothing is asked.
    client.post("/sign-out", data={"csrf_token": csrf_token_from(client, "/me")})
    assert "/me/privacy-notice" not in _sign_in(client, resident.mobile).headers["Location"]


def test_staff_are_not_asked_to_accept_the_residents_notice(app, client, session):
    from app.accounts.roles import Role

    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    reviewer.must_change_password = False
    session.commit()
    app.config["PRIVACY_NOTICE_VERSION"] = "2027-01-01"
    assert "/me/privacy-notice" not in _sign_in(client, reviewer.mobile).headers["Location"]


def _link_on_the_page(client, number: str, **extra: str):
    token = csrf_token_from(client, "/me/links")
    data = {"csrf_token": token, "kind": "transit_card", "identifier": number, "label": "公交卡"}
    return client.post("/me/links", data={**data, **extra})


def test_linking_records_a_consent_per_partner_that_reports_the_kind(city, client, session):
    bus = make_partner(city, session, ["bus_ride"], name="银川公交")
    metro = make_partner(city, session, ["metro_ride", "bus_ride"], name="银川地铁")
    make_partner(city, session, ["electricity_use"], name="国网银川")
    resident = make_user(session)
    log_in(client, resident)
    page = client.get("/me/links").get_data(as_text=True)
    assert "银川公交" in page and "银川地铁" in page
    before = session.scalar(sa.select(sa.func.count()).select_from(Consent))
    refused = _link_on_the_page(client, "6401 2345 6789")
    assert refused.status_code == 400 and "请同意所列合作方" in refused.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(LinkedIdentifier)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == before
    assert _link_on_the_page(client, "6401 2345 6789", consent="y").status_code == 302
    granted = list(
        session.scalars(
            sa.select(Consent).where(Consent.purpose == "data_partner").order_by(Consent.id)
        )
    )
    assert [(c.partner_id, c.partner_name, c.sends) for c in granted] == [
        (bus.partner_id, "银川公交", ["bus_ride"]),
        (metro.partner_id, "银川地铁", ["bus_ride", "metro_ride"]),
    ]
    assert {(c.channel, c.identifier_kind, c.link_label) for c in granted} == {
        ("web", "transit_card", "公交卡")
    }
    consents_page = client.get("/me/consents").get_data(as_text=True)
    assert "银川公交" in consents_page and "6401" not in consents_page


def test_withdrawing_stops_crediting_that_partner_and_purges_held(city, client, session):
    bus = make_partner(city, session, ["bus_ride"], name="银川公交")
    metro = make_partner(city, session, ["metro_ride"], name="银川地铁")
    resident = make_user(session)
    log_in(client, resident)
    _link_on_the_page(client, "CARD-4242", consent="y")
    link_row = session.scalar(sa.select(LinkedIdentifier))
    # A held activity from the bus partner still waits for this identifier.
    waiting = Activity(
        source="partner", partner_id=bus.partner_id, external_id="waiting-1", kind="bus_ride",
        identifier_hash=link_row.identifier_hash, held_until=clock.now() + timedelta(days=3),
        occurred_at=at(7), quantities={"distance_km": "8.2"}, status=ActivityStatus.HELD,
        reasons=[],
    )  # fmt: skip
    session.add(waiting)
    session.commit()
    grant = session.scalar(sa.select(Consent).where(Consent.partner_name == "银川公交"))
    before = _rows(session)
    token = csrf_token_from(client, "/me/consents")
    response = client.post(f"/me/consents/{grant.id}/withdraw", data={"csrf_token": token})
    assert response.status_code == 302
    after = _rows(session)
    assert after[: len(before)] == before  # append-only: the grant is unchanged
    (withdrawal,) = after[len(before) :]
    assert withdrawal[1] == "withdrawn" and withdrawal[2] == grant.id
    session.expire_all()
    purged = session.get(Activity, waiting.id)
    assert purged.status == ActivityStatus.EXPIRED and purged.identifier_hash is None
    assert purged.quantities == {}
    # From now on the bus partner's rides for the card are not credited; the metro's are.
    issued = session.scalar(sa.select(sa.func.count()).select_from(Issuance))
    partner_client = city.test_client()  # partners call without the resident's cookie
    bus_body = post_batch(partner_client, bus, [ride("b-after", "CARD-4242", at(8))]).get_json()
    (result,) = bus_body["results"]
    withdrawn_reason = {
        "code": "consent_withdrawn", "severity": "reject",
        "message": "居民已撤回对该合作方记录的同意。",
    }  # fmt: skip
    assert (result["status"], result["reasons"]) == ("expired", [withdrawn_reason]), bus_body
    (reconciled,) = partner_status(partner_client, bus, ["b-after"])["items"]
    assert reconciled["reasons"] == [withdrawn_reason]
    tombstone = session.scalar(sa.select(Activity).where(Activity.external_id == "b-after"))
    assert tombstone.participant_id is None and tombstone.identifier_hash is None
    assert tombstone.quantities == {} and tombstone.reasons[0]["code"] == "consent_withdrawn"
    assert session.scalar(sa.select(sa.func.count()).select_from(Issuance)) == issued
    metro_body = post_batch(
        partner_client, metro, [ride("m-after", "CARD-4242", at(9), kind="metro_ride")]
    ).get_json()
    assert metro_body["results"][0]["status"] == "verified", metro_body
    page = client.get("/me/consents").get_data(as_text=True)
    assert "撤回于" in page


def test_a_consent_withdrawn_twice_or_not_mine_changes_nothing(city, client, session):
    make_partner(city, session, ["bus_ride"], name="银川公交")
    resident, stranger = make_user(session), make_user(session)
    log_in(client, resident)
    _link_on_the_page(client, "CARD-5151", consent="y")
    grant = session.scalar(sa.select(Consent).where(Consent.purpose == "data_partner"))
    notice = session.scalar(sa.select(Consent).where(Consent.purpose == "privacy_notice"))
    token = csrf_token_from(client, "/me/consents")
    url = f"/me/consents/{grant.id}/withdraw"
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    before = _rows(session)
    twice = client.post(url, data={"csrf_token": token})
    assert twice.status_code == 409 and "该授权已撤回" in twice.get_data(as_text=True)
    notice_refused = client.post(f"/me/consents/{notice.id}/withdraw", data={"csrf_token": token})
    assert notice_refused.status_code == 409
    log_in(client, stranger)
    token = csrf_token_from(client, "/me/consents")
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    assert _rows(session) == before
