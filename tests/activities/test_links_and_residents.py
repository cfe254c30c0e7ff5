"""Linking identifiers, held activities, residents' own views, self-reports and the review queue."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app.accounts.roles import Role
from app.activities import links
from app.activities.models import Activity, ActivityStatus, LinkedIdentifier
from app.audit.models import AuditEntry
from app.db import db
from app.ledger.models import Issuance
from tests.activities.support import at, link, make_partner, post_batch, ride
from tests.factories import log_in, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _status(client, url: str) -> int:
    with client.get(url) as response:  # closes a streamed file
        return response.status_code


def test_only_a_keyed_hash_of_the_identifier_is_stored(city, client, session):
    resident = make_user(session)
    log_in(client, resident)
    city.config["WTF_CSRF_ENABLED"] = False
    response = client.post(
        "/api/v1/me/links", json={"kind": "transit_card", "identifier": "3100 9988 7766"}
    )
    assert response.status_code == 201, response.get_json()
    (stored,) = session.scalars(sa.select(LinkedIdentifier))
    assert "310099887766" not in stored.identifier_hash and len(stored.identifier_hash) == 64
    again = client.post(
        "/api/v1/me/links", json={"kind": "transit_card", "identifier": "310099887766"}
    )
    assert again.status_code == 409
    other = make_user(session)
    log_in(client, other)
    taken = client.post(
        "/api/v1/me/links", json={"kind": "transit_card", "identifier": "3100-9988-7766"}
    )
    assert taken.status_code == 409 and taken.get_json()["reason"] == "already_linked"


def test_a_held_activity_is_credited_when_linked_inside_the_window(city, client, session, frozen):
    key = make_partner(city, session, ["bus_ride"])
    body = post_batch(client, key, [ride("h1", "CARD-555", at(8))]).get_json()
    assert body["results"][0]["status"] == "held"
    frozen.shift(timedelta(days=6))
    resident = make_user(session)
    _linked, released = link(city, session, resident.id, "transit_card", "card 555")
    assert [a.status for a in released] == [ActivityStatus.VERIFIED]
    activity = session.scalar(sa.select(Activity).where(Activity.external_id == "h1"))
    assert activity.participant_id == resident.id and activity.identifier_hash is None
    assert session.get(Issuance, activity.reduction_id).issued_points == 221


def test_a_held_activity_is_purged_after_its_window(city, client, session, frozen):
    key = make_partner(city, session, ["bus_ride"])
    post_batch(client, key, [ride("h2", "CARD-777", at(8))])
    frozen.shift(timedelta(days=7, seconds=1))
    with city.app_context():
        assert links.purge_held(session, clock.now()) == 1
    session.commit()
    activity = session.scalar(sa.select(Activity).where(Activity.external_id == "h2"))
    assert activity.status == ActivityStatus.EXPIRED
    assert activity.identifier_hash is None and activity.quantities == {}
    resident = make_user(session)
    _linked, released = link(city, session, resident.id, "transit_card", "CARD-777")
    assert released == []
    again = post_batch(client, key, [ride("h2", "CARD-777", at(8))]).get_json()
    assert again["results"][0]["result"] == "duplicate"  # the tombstone keeps it ingested once


def test_a_resident_sees_only_their_own_activities_with_reasons(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    alice, bob = make_user(session), make_user(session)
    link(city, session, alice.id, "transit_card", "ALICE-01")
    link(city, session, bob.id, "transit_card", "BOB-0001")
    rides = [ride("a1", "ALICE-01", at(8)), ride("a2", "ALICE-01", at(8, 5))]
    post_batch(client, key, [*rides, ride("b1", "BOB-0001", at(9))])
    log_in(client, alice)
    items = client.get("/api/v1/me/activities").get_json()["items"]
    assert sorted(item["status"] for item in items) == ["rejected", "verified"]
    rejected = next(item for item in items if item["status"] == "rejected")
    assert rejected["reasons"][0]["code"] in {"duplicate_trip", "overlapping_trip"}
    assert rejected["reasons"][0]["message"]
    credited = next(item for item in items if item["status"] == "verified")
    assert credited["reduction_g"] == 221 and credited["points"] == 221
    page = client.get("/activities").get_data(as_text=True)
    assert "221" in page
    bob_activity = session.scalar(sa.select(Activity).where(Activity.external_id == "b1"))
    assert all(item["id"] != bob_activity.id for item in items)


def test_self_report_goes_to_review_and_approval_credits_at_the_self_report_weight(
    city, client, session
):
    city.config["WTF_CSRF_ENABLED"] = False
    resident = make_user(session)
    log_in(client, resident)
    response = client.post(
        "/activities/report",
        data={
            "kind": "recycling_weigh_in",
            "occurred_at": "2026-11-24T10:30",
            "material": "mixed_paper",
            "kg": "2",
            "evidence": (io.BytesIO(PNG), "receipt.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    activity = session.scalar(sa.select(Activity))
    assert activity.status == ActivityStatus.FLAGGED
    assert {r["code"] for r in activity.reasons} == {"self_reported"}
    assert _status(client, f"/activities/evidence/{activity.evidence_id}") == 200
    log_in(client, make_user(session))  # another resident may not see the receipt
    assert _status(client, f"/activities/evidence/{activity.evidence_id}") == 404
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    log_in(client, reviewer)
    queue = client.get("/bureau/review?kind=recycling_weigh_in").get_data(as_text=True)
    assert f"#{activity.id}" in queue
    assert _status(client, f"/activities/evidence/{activity.evidence_id}") == 200
    decided = client.post(
        "/api/v1/bureau/review/decisions",
        json={"activity_ids": [activity.id], "decision": "approve"},
    )
    assert decided.get_json()["approved"] == [activity.id]
    session.expire_all()
    assert session.get(Activity, activity.id).status == ActivityStatus.VERIFIED
    # 2 kg × 3,913 g/kg = 7,826 g, self-reported at 0.5 → 3,913 g.
    assert session.get(Issuance, activity.reduction_id).requested_points == 3913
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "activity.review"))
    assert entry.actor_id == reviewer.id


def test_rejecting_needs_a_reason_the_resident_reads(city, client, session):
    city.config["WTF_CSRF_ENABLED"] = False
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "FAST-001")
    post_batch(client, key, [ride("f1", "FAST-001", at(8), km="40", minutes="10"),
                             ride("f2", "FAST-001", at(9), km="40", minutes="10")])  # fmt: skip
    ids = list(session.scalars(sa.select(Activity.id).order_by(Activity.id)))
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    refused = client.post(
        "/api/v1/bureau/review/decisions", json={"activity_ids": ids, "decision": "reject"}
    )
    assert refused.status_code == 422 and refused.get_json()["reason"] == "note_required"
    page = client.get("/bureau/review")
    token_page = page.get_data(as_text=True)
    assert "too_fast" in token_page
    done = client.post(
        "/bureau/review",
        data={"activity_id": [str(i) for i in ids], "decision": "reject", "note": "Taxi speed"},
    )
    assert done.status_code == 302
    log_in(client, resident)
    items = client.get("/api/v1/me/activities").get_json()["items"]
    assert {item["status"] for item in items} == {"rejected"}
    assert all(item["review_note"] == "Taxi speed" for item in items)
    assert session.scalar(sa.select(sa.func.count()).select_from(Issuance)) == 0


def test_evidence_of_the_wrong_type_or_too_large_is_refused(city, client, session):
    city.config["WTF_CSRF_ENABLED"] = False
    log_in(client, make_user(session))

    def report(data: bytes, name: str):
        return client.post(
            "/activities/report",
            data={"kind": "bus_ride", "occurred_at": "2026-11-24T08:00", "distance_km": "5",
                  "duration_minutes": "20", "evidence": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )  # fmt: skip

    wrong = report(b"GIF89a" + b"\x00" * 32, "receipt.png")
    assert wrong.status_code == 415
    city.config["EVIDENCE_MAX_BYTES"] = 1024
    large = report(PNG + b"\x00" * 2048, "big.png")
    assert large.status_code == 413
    with city.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
