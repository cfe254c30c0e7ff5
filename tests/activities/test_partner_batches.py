"""The signed batch API: signatures, per-item results, idempotency, reconciliation."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.accounts.roles import Role
from app.activities.models import Activity, ActivityStatus, PartnerMessage
from app.activities.partners import IssuedKey
from app.api.json_depth import MAX_JSON_DEPTH
from app.audit.models import AuditEntry
from app.jobs import registry
from app.jobs.runner import run_job
from app.ledger.models import Issuance
from tests.activities.support import (
    BATCH_URL,
    STATUS_URL,
    at,
    configure,
    link,
    make_partner,
    post_batch,
    ride,
    signed_headers,
)
from tests.factories import log_in, make_user


def test_a_linked_ride_is_verified_and_credited(city, client, session):
    key = make_partner(city, session, ["bus_ride", "metro_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "3100 1234 5678")
    response = post_batch(client, key, [ride("r1", "310012345678", at(8))])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["accepted"] == 1
    (result,) = body["results"]
    assert result["index"] == 0 and result["result"] == "accepted"
    assert result["status"] == "verified"
    activity = session.get(Activity, result["activity_id"])
    assert activity.participant_id == resident.id
    issuance = session.get(Issuance, activity.reduction_id)
    assert issuance.issued_points == 221  # 8.2 km × 26.9 g/km → 221 g → 221 points


def test_every_item_gets_its_own_result_and_one_bad_row_does_not_sink_the_batch(
    city, client, session
):
    key = make_partner(city, session, ["bus_ride"])
    items = [
        ride("ok-1", "A1234567", at(8)),
        {"external_id": "bad-1", "kind": "bus_ride"},  # no identifier, time, quantities
        ride("bad-2", "A1234567", at(9), km="-3"),
        "not an object",
        ride("bad-3", "A1234567", at(10)) | {"occurred_at": "2026-11-24T10:00:00"},  # naive
        ride("ok-2", "A1234567", at(11)),
    ]
    body = post_batch(client, key, items).get_json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["result"] for r in results] == [
        "accepted", "rejected", "rejected", "rejected", "rejected", "accepted",
    ]  # fmt: skip
    fields = {reason["field"] for reason in results[1]["reasons"]}
    assert {"identifier", "occurred_at", "quantities"} <= fields
    assert results[2]["reasons"][0]["field"] == "quantities.distance_km"
    assert results[4]["reasons"][0]["field"] == "occurred_at"
    assert results[0]["status"] == "held"  # nobody linked A1234567 yet


def test_a_partner_cannot_send_kinds_it_is_not_allowed(city, client, session):
    key = make_partner(city, session, ["bike_trip"])
    body = post_batch(client, key, [ride("m1", "C1", at(8), kind="metro_ride")]).get_json()
    (result,) = body["results"]
    assert result["result"] == "rejected"
    assert result["reasons"][0]["code"] == "kind_not_allowed"
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_resending_a_batch_changes_nothing(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "T-1001")
    items = [ride("r1", "T-1001", at(8)), ride("r2", "T-1001", at(12)), ride("r3", "nobody", at(9))]
    first = post_batch(client, key, items).get_json()
    second = post_batch(client, key, items).get_json()  # a new webhook-id, the same activities
    assert second["accepted"] == 0 and second["duplicate"] == 3
    for before, after in zip(first["results"], second["results"], strict=True):
        assert after["result"] == "duplicate"
        assert (after["activity_id"], after["status"]) == (before["activity_id"], before["status"])
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 3
    assert session.scalar(sa.select(sa.func.count()).select_from(Issuance)) == 2


def test_the_same_external_id_twice_in_one_batch_is_ingested_once(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    body = post_batch(client, key, [ride("x", "T", at(8)), ride("x", "T", at(9))]).get_json()
    assert [r["result"] for r in body["results"]] == ["accepted", "duplicate"]
    assert body["results"][1]["duplicate_of_index"] == 0


def test_a_reused_message_id_is_answered_from_the_first_result(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    first = post_batch(client, key, [ride("r1", "T", at(8))], message_id="msg_fixed")
    replay = post_batch(client, key, [ride("other", "T", at(9))], message_id="msg_fixed")
    assert replay.status_code == 200
    assert replay.get_json() == first.get_json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1


def test_message_ids_are_purged_after_their_retention(city, client, session, frozen, monkeypatch):
    key = make_partner(city, session, ["bus_ride"])
    sent_at = clock.now()
    first = post_batch(client, key, [ride("r1", "T", at(8))], message_id="msg_old")
    post_batch(client, key, [ride("r2", "T", at(8, 30))], message_id="msg_old_too")
    frozen.shift(timedelta(days=1))
    post_batch(client, key, [ride("r3", "T", at(9))], message_id="msg_young")
    frozen.shift(timedelta(days=29, seconds=1))  # the first two are 30 days and a second old
    monkeypatch.setattr(registry, "ROWS_PER_CHUNK", 1)
    with city.app_context():
        purged = run_job("purge-partner-messages", trigger="cli")
        again = run_job("purge-partner-messages", trigger="cli")
    assert purged.counts == {"messages": 2} and again.counts == {"messages": 0}
    assert set(session.scalars(sa.select(PartnerMessage.message_id))) == {"msg_young"}
    young = post_batch(client, key, [ride("other", "T", at(10))], message_id="msg_young")
    assert young.headers["Idempotent-Replayed"] == "true"

    # The captured request, replayed, is refused by its timestamp whatever the table holds.
    replay = post_batch(
        client, key, [ride("r1", "T", at(8))], message_id="msg_old", timestamp=sent_at
    )
    assert replay.status_code == 401 and replay.get_json()["reason"] == "stale_timestamp"
    # A late honest retry is answered afresh, and its activity is still not ingested twice.
    retry = post_batch(client, key, [ride("r1", "T", at(8))], message_id="msg_old")
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers
    assert retry.get_json()["results"][0]["result"] == "duplicate"
    assert (
        retry.get_json()["results"][0]["activity_id"]
        == first.get_json()["results"][0]["activity_id"]
    )
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 3


def test_the_message_retention_comes_from_the_configuration(city, client, session, frozen):
    key = make_partner(city, session, ["bus_ride"])
    post_batch(client, key, [ride("r1", "T", at(8))])
    city.config["PARTNER_MESSAGE_RETENTION_DAYS"] = 2
    frozen.shift(timedelta(days=2))
    with city.app_context():
        assert run_job("purge-partner-messages", trigger="cli").counts == {"messages": 0}
    frozen.shift(timedelta(seconds=1))
    with city.app_context():
        assert run_job("purge-partner-messages", trigger="cli").counts == {"messages": 1}


def test_the_same_trip_from_two_partners_is_credited_once(city, client, session):
    operator = make_partner(city, session, ["metro_ride"], name="metro operator")
    card_company = make_partner(city, session, ["metro_ride"], name="card company")
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "M-7700")
    trip = {"from_station": "A", "to_station": "B"}
    first = post_batch(
        client, operator, [ride("op-1", "M-7700", at(8, 1), kind="metro_ride", **trip)]
    )
    second = post_batch(
        client, card_company, [ride("cc-9", "M-7700", at(8, 3), kind="metro_ride", **trip)]
    )
    assert first.get_json()["results"][0]["status"] == "verified"
    (result,) = second.get_json()["results"]
    assert result["result"] == "accepted" and result["status"] == "rejected"
    assert result["reasons"][0]["code"] in {"duplicate_trip", "overlapping_trip"}
    assert session.scalar(sa.select(sa.func.count()).select_from(Issuance)) == 1


def test_overlapping_trips_of_one_participant_credit_once(city, client, session):
    key = make_partner(city, session, ["bus_ride", "metro_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "O-1001")
    body = post_batch(
        client, key,
        [ride("a", "O-1001", at(8), minutes="30"),
         ride("b", "O-1001", at(8, 20), kind="metro_ride", km="12", minutes="20")],
    ).get_json()  # fmt: skip
    assert [r["status"] for r in body["results"]] == ["verified", "rejected"]
    assert body["results"][1]["reasons"][0]["code"] == "overlapping_trip"


def test_too_many_trips_in_a_day_go_to_review(city, client, session):
    configure(city, MAX_TRIPS_PER_DAY=3)
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "F-1001")
    items = [ride(f"t{n}", "F-1001", at(7 + n), km="2", minutes="10") for n in range(5)]
    statuses = [r["status"] for r in post_batch(client, key, items).get_json()["results"]]
    assert statuses == ["verified", "verified", "verified", "flagged", "flagged"]


def test_earlier_trips_count_on_their_own_day_and_one_past_midnight_overlaps(city, client, session):
    configure(city, MAX_TRIPS_PER_DAY=2)
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "M-1001")
    day_before = [
        ride("m1", "M-1001", at(-16), km="2", minutes="10"),  # 08:00 the day before
        ride("m2", "M-1001", at(0, -20), km="5", minutes="40"),  # 23:40 until 00:20
    ]
    statuses = [r["status"] for r in post_batch(client, key, day_before).get_json()["results"]]
    assert statuses == ["verified", "verified"]
    day = [ride(f"d{n}", "M-1001", when, km="2", minutes="5")
           for n, when in enumerate((at(0, 10), at(8), at(9), at(10)))]  # fmt: skip
    results = post_batch(client, key, day).get_json()["results"]
    # 00:10 is inside the late trip; the day before's two trips do not count toward this day.
    assert [r["status"] for r in results] == ["rejected", "verified", "verified", "flagged"]
    assert results[0]["reasons"][0]["code"] == "overlapping_trip"


def test_implausible_speed_is_flagged_and_distance_rejected(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "S-1001")
    fast = ride("fast", "S-1001", at(8), km="40", minutes="10")
    far = ride("far", "S-1001", at(12), km="500", minutes="600")
    results = post_batch(client, key, [fast, far]).get_json()["results"]
    assert results[0]["status"] == "flagged"
    assert results[0]["reasons"][0]["code"] == "too_fast"
    assert results[1]["status"] == "rejected"
    assert results[1]["reasons"][0]["code"] == "longer_than_longest_route"


def test_bad_signatures_and_keys_are_refused(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    body = json.dumps({"activities": [ride("r1", "T", at(8))]}).encode()

    def post(headers):
        return client.post(BATCH_URL, data=body, headers=headers)

    good = signed_headers(key, body)
    tampered = good | {"webhook-signature": signed_headers(key, body + b" ")["webhook-signature"]}
    cases = {
        "bad_signature": tampered,
        "missing_key": {k: v for k, v in good.items() if k != "X-Partner-Key"},
        "unknown_key": good | {"X-Partner-Key": "pk_0000000000000000"},
        "missing_signature": {k: v for k, v in good.items() if k != "webhook-signature"},
        "stale_timestamp": signed_headers(
            key, body, timestamp=clock.now() - timedelta(seconds=301)
        ),
        "invalid_timestamp": good | {"webhook-timestamp": "yesterday"},
    }
    for reason, headers in cases.items():
        response = post(headers)
        assert response.status_code == 401, reason
        assert response.get_json()["reason"] == reason
    future = signed_headers(key, body, timestamp=clock.now() + timedelta(seconds=301))
    assert post(future).get_json()["reason"] == "stale_timestamp"
    edge = signed_headers(key, body, timestamp=clock.now() - timedelta(seconds=300))
    assert post(edge).status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1


def test_rotation_overlaps_until_the_old_key_is_revoked(city, client, session):
    city.config["WTF_CSRF_ENABLED"] = False  # cookie API calls; CSRF has its own tests
    admin = make_user(session, Role.BUREAU_ADMIN)
    old = make_partner(city, session, ["bus_ride"])
    log_in(client, admin)
    new = client.post(f"/api/v1/bureau/partners/{old.partner_id}/keys").get_json()
    assert new["secret"].startswith("whsec_")
    new_key = IssuedKey(old.partner_id, new["key_id"], new["secret"])
    assert post_batch(client, old, [ride("a", "T", at(8))]).status_code == 200
    assert post_batch(client, new_key, [ride("b", "T", at(9))]).status_code == 200
    revoked = client.delete(f"/api/v1/bureau/partners/{old.partner_id}/keys/{old.key_id}")
    assert revoked.status_code == 204
    refused = post_batch(client, old, [ride("c", "T", at(10))])
    assert refused.status_code == 401 and refused.get_json()["reason"] == "revoked_key"
    assert post_batch(client, new_key, [ride("d", "T", at(11))]).status_code == 200
    actions = set(session.scalars(sa.select(AuditEntry.action)))
    assert {"partner.register", "partner.key_issue", "partner.key_revoke"} <= actions


def test_a_batch_over_the_limit_is_refused_with_413(city, client, session):
    configure(city, PARTNER_BATCH_LIMIT=3)
    key = make_partner(city, session, ["bus_ride"])
    response = post_batch(client, key, [ride(f"r{n}", "T", at(8)) for n in range(4)])
    assert response.status_code == 413
    assert response.get_json()["reason"] == "batch_too_large"
    city.config["MAX_CONTENT_LENGTH"] = 100
    response = post_batch(client, key, [ride("r1", "T", at(8))])
    assert response.status_code == 413
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_a_body_nested_past_the_json_depth_limit_is_refused(city, client, session):
    """The batch, its list and an item take three levels; the quantities the rest."""
    key = make_partner(city, session, ["bus_ride"])
    for extra, status in ((0, 200), (1, 400), (100_000, 400)):
        depth = MAX_JSON_DEPTH - 3 + extra
        item = json.dumps({**ride("r1", "T", at(8)), "quantities": "Q"})
        quantities = "[" * depth + "1" + "]" * depth
        body = ('{"activities": [' + item.replace('"Q"', quantities) + "]}").encode()
        response = client.post(BATCH_URL, data=body, headers=signed_headers(key, body))
        assert response.status_code == status, response.get_data(as_text=True)
        if status == 400:
            assert response.get_json()["reason"] == "json_too_deep"
        else:
            assert response.get_json()["results"][0]["result"] == "rejected"
    assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_a_body_that_is_not_json_is_refused(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    body = b"activities: none"
    response = client.post(BATCH_URL, data=body, headers=signed_headers(key, body))
    assert response.status_code == 400 and response.get_json()["reason"] == "invalid_json"


def test_status_lets_a_partner_reconcile(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    post_batch(client, key, [ride("r1", "T", at(8))])
    body = json.dumps({"external_ids": ["r1", "unknown"]}).encode()
    response = client.post(STATUS_URL, data=body, headers=signed_headers(key, body))
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert items[0]["external_id"] == "r1" and items[0]["status"] == "held"
    assert items[1] == {"external_id": "unknown", "found": False}
    other = make_partner(city, session, ["bus_ride"])
    response = client.post(STATUS_URL, data=body, headers=signed_headers(other, body))
    assert response.get_json()["items"][0]["found"] is False  # another partner's ids are private


def test_activities_are_verified_in_the_pipeline_order(city, client, session):
    """Held activities carry no participant; verified ones no identifier hash."""
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "P-1001")
    post_batch(client, key, [ride("a", "P-1001", at(8)), ride("b", "Q-1", at(9))])
    rows = {a.external_id: a for a in session.scalars(sa.select(Activity))}
    assert rows["a"].status == ActivityStatus.VERIFIED and rows["a"].identifier_hash is None
    assert rows["b"].status == ActivityStatus.HELD and rows["b"].participant_id is None
