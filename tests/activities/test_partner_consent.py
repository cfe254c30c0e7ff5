"""A partner that begins reporting after a resident linked an identifier has no consent: its
records wait (held) until the resident answers; agreeing credits them once through the normal
path, declining purges them; a reviewer's approval applies the same rule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import context as edge
from app.accounts.models import Consent, ConsentAction
from app.accounts.roles import Role
from app.activities import consents, partners
from app.activities.models import Activity, ActivityStatus, DataPartner, LinkedIdentifier
from app.audit.services import SYSTEM
from app.ledger.models import Issuance
from tests.activities.support import (
    at,
    configure,
    link,
    make_partner,
    partner_status,
    post_batch,
    ride,
)
from tests.factories import PASSWORD, csrf_token_from, log_in, make_user

CARD = "LATE-4242"


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _consent_rows(session) -> list[tuple]:
    return [
        (c.id, c.action, c.partner_name, c.sends)
        for c in session.scalars(sa.select(Consent).order_by(Consent.id))
    ]


def _activity(session, external_id: str) -> Activity:
    session.expire_all()
    return session.scalar(sa.select(Activity).where(Activity.external_id == external_id))


def _token(client, user) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _late_partner(city, session, client):
    """A resident who linked a card with the bus partner only; the metro registered afterwards
    and sent a ride for the card."""
    make_partner(city, session, ["bus_ride"], name="银川公交")
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", CARD)
    metro = make_partner(city, session, ["metro_ride"], name="银川地铁")
    body = post_batch(client, metro, [ride("m-1", CARD, at(8), kind="metro_ride")]).get_json()
    return resident, metro, body


def test_a_partner_registered_after_the_link_is_held_until_the_resident_agrees(
    city, client, session
):
    issued = _count(session, Issuance)
    resident, metro, body = _late_partner(city, session, client)
    assert body["results"][0]["status"] == "held", body  # credited without consent before
    held = _activity(session, "m-1")
    assert held.participant_id is None and held.quantities  # kept, like an unlinked card's
    assert _count(session, Issuance) == issued
    # The resident is asked on the home page and on the consents page, naming what it sends.
    log_in(client, resident)
    home = client.get("/me").get_data(as_text=True)
    assert "合作方请求您的同意" in home and "银川地铁" in home and "地铁" in home
    page = client.get("/me/consents").get_data(as_text=True)
    assert "银川地铁" in page and "1 条记录等待您的答复" in page
    assert "银川地铁" in client.get("/me/privacy").get_data(as_text=True)
    client.get("/language/en?next=/")
    english = client.get("/me/consents").get_data(as_text=True)
    assert "Partners asking for your consent" in english and "1 records waiting" in english
    assert "Partners asking for your consent" in client.get("/me").get_data(as_text=True)
    client.get("/language/zh_Hans_CN?next=/")
    before = _consent_rows(session)
    partner_id = metro.partner_id
    link_id = session.scalar(sa.select(LinkedIdentifier.id))
    token = csrf_token_from(client, "/me/consents")
    url = f"/me/consents/links/{link_id}/partners/{partner_id}"
    bad = client.post(url, data={"csrf_token": token, "answer": "maybe"})
    assert bad.status_code == 400 and "请选择同意或拒绝" in bad.get_data(as_text=True)
    assert _consent_rows(session) == before
    agreed = client.post(url, data={"csrf_token": token, "answer": "agree"})
    assert agreed.status_code == 302
    after = _consent_rows(session)
    assert after[: len(before)] == before
    (grant,) = after[len(before) :]
    assert grant[1:] == (ConsentAction.GRANTED, "银川地铁", ["metro_ride"])
    released = _activity(session, "m-1")
    assert released.status == ActivityStatus.VERIFIED
    assert released.participant_id == resident.id and released.identifier_hash is None
    assert released.link_id == link_id
    assert _count(session, Issuance) == issued + 1
    # Answering again changes nothing; the ask is gone; the partner's next ride is credited.
    again = client.post(url, data={"csrf_token": token, "answer": "agree"})
    assert again.status_code == 409 and "您已答复过" in again.get_data(as_text=True)
    assert _consent_rows(session) == after and _count(session, Issuance) == issued + 1
    assert "合作方请求您的同意" not in client.get("/me").get_data(as_text=True)
    partner_client = city.test_client()
    later = post_batch(partner_client, metro, [ride("m-2", CARD, at(12), kind="metro_ride")])
    assert later.get_json()["results"][0]["status"] == "verified"
    resent = post_batch(partner_client, metro, [ride("m-1", CARD, at(8), kind="metro_ride")])
    assert resent.get_json()["results"][0]["result"] == "duplicate"
    assert _count(session, Issuance) == issued + 2


def test_declining_purges_what_waited_and_later_records_keep_nothing(city, client, session):
    issued = _count(session, Issuance)
    resident, metro, _body = _late_partner(city, session, client)
    headers = _token(client, resident)
    asked = client.get("/api/v1/me/consents/requests", headers=headers).get_json()
    link_id = session.scalar(sa.select(LinkedIdentifier.id))
    assert asked == [
        {"link_id": link_id, "link_label": None, "identifier_kind": "transit_card",
         "partner_id": metro.partner_id, "partner": "银川地铁", "sends": ["metro_ride"],
         "waiting": 1},
    ]  # fmt: skip
    answer = {"link_id": link_id, "partner_id": metro.partner_id, "agree": False}
    declined = client.post("/api/v1/me/consents/requests", json=answer, headers=headers)
    assert declined.status_code == 200, declined.get_json()
    assert declined.get_json() | {"consent_id": 0} == {
        "consent_id": 0, "action": "declined", "partner": "银川地铁", "sends": ["metro_ride"],
        "credited_held": 0, "purged_held": 1,
    }  # fmt: skip
    purged = _activity(session, "m-1")
    assert purged.status == ActivityStatus.EXPIRED and purged.identifier_hash is None
    assert purged.quantities == {} and purged.reasons[0]["code"] == "consent_declined"
    partner_client = city.test_client()
    later = post_batch(partner_client, metro, [ride("m-3", CARD, at(9), kind="metro_ride")])
    (result,) = later.get_json()["results"]
    declined_reason = {
        "code": "consent_declined", "severity": "reject", "message": "居民拒绝了该合作方的记录。",
    }  # fmt: skip
    assert (result["status"], result["reasons"]) == ("expired", [declined_reason])
    (reconciled,) = partner_status(partner_client, metro, ["m-3"])["items"]
    assert reconciled["reasons"] == [declined_reason]
    tombstone = _activity(session, "m-3")
    assert tombstone.participant_id is None and tombstone.quantities == {}
    assert tombstone.reasons[0]["code"] == "consent_declined"
    assert _count(session, Issuance) == issued
    assert client.get("/api/v1/me/consents/requests", headers=headers).get_json() == []
    history = client.get("/api/v1/me/consents", headers=headers).get_json()
    assert (history[0]["action"], history[0]["partner"]) == ("declined", "银川地铁")
    assert history[0]["withdrawn_at"] is None
    rows = _consent_rows(session)
    again = client.post("/api/v1/me/consents/requests", json=answer, headers=headers)
    assert again.status_code == 409 and again.get_json()["reason"] == "already_answered"
    assert _consent_rows(session) == rows


def test_bad_answers_are_refused_and_change_nothing(city, client, session):
    resident, metro, _body = _late_partner(city, session, client)
    other = make_user(session)
    bus_only = make_partner(city, session, ["electricity_use"], name="国网银川")
    session.commit()
    link_id = session.scalar(sa.select(LinkedIdentifier.id))
    rows = _consent_rows(session)
    cases = [
        (_token(client, other), {"link_id": link_id, "partner_id": metro.partner_id}, 404,
         "link_not_found"),
        (_token(client, resident), {"link_id": link_id + 1000, "partner_id": metro.partner_id},
         404, "link_not_found"),
        (_token(client, resident), {"link_id": link_id, "partner_id": bus_only.partner_id}, 404,
         "partner_not_found"),
    ]  # fmt: skip
    for headers, ids, status, reason in cases:
        response = client.post(
            "/api/v1/me/consents/requests", json={**ids, "agree": True}, headers=headers
        )
        assert (response.status_code, response.get_json()["reason"]) == (status, reason)
    headers = _token(client, resident)
    for body in (
        {"link_id": link_id, "partner_id": metro.partner_id, "agree": "yes"},
        {"link_id": link_id, "partner_id": metro.partner_id},
        {"link_id": 0, "partner_id": metro.partner_id, "agree": True},
    ):
        response = client.post("/api/v1/me/consents/requests", json=body, headers=headers)
        assert response.status_code == 422, body
    english = client.post(
        "/api/v1/me/consents/requests",
        json={"link_id": link_id, "partner_id": bus_only.partner_id, "agree": True},
        headers={**headers, "Accept-Language": "en"},
    )
    assert english.get_json()["message"] == "Not found."
    assert _consent_rows(session) == rows
    assert _activity(session, "m-1").status == ActivityStatus.HELD


def test_a_partner_newly_reporting_a_kind_of_identifier_waits_for_consent(city, client, session):
    grid = make_partner(city, session, ["electricity_use"], name="国网银川")
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", CARD)
    with city.app_context():
        partners.set_allowed_kinds(
            session, SYSTEM, grid.partner_id, allowed_kinds=["electricity_use", "bus_ride"],
            known_kinds=["electricity_use", "bus_ride"],
        )  # fmt: skip
    session.commit()
    body = post_batch(client, grid, [ride("g-1", CARD, at(7))]).get_json()
    assert body["results"][0]["status"] == "held"
    (ask,) = consents.asks(session, resident.id, edge.of(city).methodologies)
    assert (ask.partner.name, ask.partner.sends, ask.waiting) == ("国网银川", ["bus_ride"], 1)


def test_a_consented_partner_sending_a_new_kind_is_asked_again_for_it(city, client, session):
    issued = _count(session, Issuance)
    bus = make_partner(city, session, ["bus_ride"], name="银川公交")
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", CARD)
    with city.app_context():
        partners.set_allowed_kinds(
            session, SYSTEM, bus.partner_id, allowed_kinds=["bus_ride", "metro_ride"],
            known_kinds=["bus_ride", "metro_ride"],
        )  # fmt: skip
    session.commit()
    body = post_batch(
        client, bus, [ride("b-1", CARD, at(7)), ride("b-2", CARD, at(9), kind="metro_ride")]
    ).get_json()
    assert [r["status"] for r in body["results"]] == ["verified", "held"]
    assert _count(session, Issuance) == issued + 1
    headers = _token(client, resident)
    (asked,) = client.get("/api/v1/me/consents/requests", headers=headers).get_json()
    assert asked["sends"] == ["bus_ride", "metro_ride"] and asked["waiting"] == 1
    answer = {"link_id": asked["link_id"], "partner_id": bus.partner_id, "agree": True}
    agreed = client.post("/api/v1/me/consents/requests", json=answer, headers=headers).get_json()
    assert agreed["credited_held"] == 1 and agreed["action"] == "granted"
    assert _activity(session, "b-2").status == ActivityStatus.VERIFIED
    assert _count(session, Issuance) == issued + 2


def test_a_reviewer_cannot_credit_a_record_whose_consent_was_withdrawn(city, client, session):
    configure(city, MAX_TRIPS_PER_DAY=1)
    bus = make_partner(city, session, ["bus_ride"], name="银川公交")
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", CARD)
    body = post_batch(client, bus, [ride("r-1", CARD, at(7)), ride("r-2", CARD, at(12))])
    flagged = body.get_json()["results"][1]
    assert flagged["status"] == "flagged"
    issued = _count(session, Issuance)
    grant = session.scalar(sa.select(Consent).where(Consent.partner_name == "银川公交"))
    headers = _token(client, resident)
    withdrawn = client.post(f"/api/v1/me/consents/{grant.id}/withdraw", headers=headers)
    assert withdrawn.status_code == 200
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    log_in(client, reviewer)
    token = csrf_token_from(client, "/bureau/review")
    decided = client.post(
        "/api/v1/bureau/review/decisions",
        json={"activity_ids": [flagged["activity_id"]], "decision": "approve", "note": "ok"},
        headers={"X-CSRFToken": token},
    )
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["not_credited"] == [flagged["activity_id"]]
    activity = _activity(session, "r-2")
    assert activity.status == ActivityStatus.REJECTED
    assert "no_consent" in [reason["code"] for reason in activity.reasons]
    assert _count(session, Issuance) == issued


def test_every_partner_reporting_at_link_time_is_consented_once(city, client, session):
    make_partner(city, session, ["bus_ride"], name="银川公交")
    make_partner(city, session, ["metro_ride"], name="银川地铁")
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", CARD)
    assert consents.asks(session, resident.id, edge.of(city).methodologies) == []
    assert {name for (name,) in session.execute(sa.select(DataPartner.name))} >= {"银川公交"}


@pytest.mark.parametrize(
    ("rows", "verdicts"),
    [
        ([], ("hold", "hold")),
        ([("granted", ["bus_ride"])], ("credit", "hold")),
        (
            [("granted", ["bus_ride"]), ("granted", ["bus_ride", "metro_ride"])],
            ("credit", "credit"),
        ),
        (
            [("granted", ["bus_ride", "metro_ride"]), ("withdrawn", ["bus_ride"])],
            ("consent_withdrawn", "consent_withdrawn"),
        ),
        ([("declined", ["metro_ride"])], ("consent_declined", "consent_declined")),
        (
            [("declined", ["metro_ride"]), ("granted", ["bus_ride"])],
            ("consent_declined", "consent_declined"),
        ),
    ],
)
def test_the_rule_credits_a_kind_granted_and_nothing_after_a_refusal(city, session, rows, verdicts):
    bus = make_partner(city, session, ["bus_ride", "metro_ride"], name="银川公交")
    other = make_partner(city, session, ["bus_ride"], name="别家公交")
    resident = make_user(session)
    linked, _released = link(city, session, resident.id, "transit_card", CARD)
    session.execute(sa.delete(Consent).where(Consent.link_id == linked.id))
    for action, sends in rows:
        session.add(
            Consent(
                user_id=resident.id, purpose="data_partner", action=action, channel="web",
                link_id=linked.id, partner_id=bus.partner_id, partner_name="银川公交", sends=sends,
            )
        )  # fmt: skip
    session.flush()
    found = consents.standings(session, [linked.id])
    standing = found.get((linked.id, bus.partner_id), consents.NOT_ASKED)
    assert (standing.verdict("bus_ride").value, standing.verdict("metro_ride").value) == verdicts
    assert (linked.id, other.partner_id) not in found  # another partner's rows are its own
    assert consents.standings(session, [linked.id], other.partner_id) == {}
