"""The JSON API: the bureau's workflow and its refusals, trying an activity, the open catalogue."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts import services as accounts
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.methodology.models import MethodologyVersion, VersionStatus
from tests.factories import make_user
from tests.methodology.support import START, Bureau

BASE = "/api/v1/bureau/methodologies"


@pytest.fixture
def bureau(app, session):
    return Bureau(app, session)


def auth(session, user):
    token, _ = accounts.issue_api_token(session, user, lifetime_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


def test_a_version_goes_through_the_workflow_by_api(client, session, bureau):
    reviewer, admin = auth(session, bureau.reviewer), auth(session, bureau.admin)
    created = client.post(BASE, json={"code": "metro"}, headers=reviewer)
    assert created.status_code == 201, created.get_json()
    version = created.get_json()
    assert (version["label"], version["status"]) == ("metro@1.0.0", "draft")
    url = f"{BASE}/{version['id']}"

    detail = client.get(url, headers=reviewer).get_json()
    schema = {spec["name"]: spec for spec in detail["parameter_schema"]}
    assert schema["baseline_g_per_pkm"]["unit"] == "g CO2e/pkm"
    assert schema["self_report_weight"]["maximum"] == "1"
    assert detail["version"]["parameters"]["baseline_g_per_pkm"] == "46.7"

    edited = client.patch(
        url,
        json={
            "parameters": {"baseline_g_per_pkm": "44.1"},
            "notes": {"baseline_g_per_pkm": "Yinchuan Metro 2025 energy report"},
        },
        headers=reviewer,
    )
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["parameter_notes"] == {
        "baseline_g_per_pkm": "Yinchuan Metro 2025 energy report"
    }
    assert client.post(f"{url}/submit", headers=reviewer).status_code == 200
    approved = client.post(
        f"{url}/approve",
        json={"effective_from": "2026-01-01T00:00:00+08:00", "comment": "Matches the report."},
        headers=admin,
    )
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "approved"
    assert body["effective_from"].startswith("2025-12-31T16:00:00")

    listed = client.get(f"{BASE}?code=metro&status=approved", headers=reviewer).get_json()
    assert [item["id"] for item in listed["items"]] == [version["id"]]

    retired = client.post(f"{url}/retire", json={"comment": "Closed line."}, headers=admin)
    assert retired.get_json()["status"] == "retired"


def test_parameters_outside_the_schema_are_refused_naming_each(client, session, bureau):
    draft = bureau.draft("bus")
    response = client.patch(
        f"{BASE}/{draft.id}",
        json={
            "parameters": {"self_report_weight": "1.5", "activity_cap_g": "lots", "speed": "1"},
            "notes": {"self_report_weight": "x", "activity_cap_g": "x"},
        },
        headers=auth(session, bureau.reviewer),
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["reason"] == "invalid_parameters"
    assert set(body["errors"]["parameters"]) == {"self_report_weight", "activity_cap_g", "speed"}
    session.refresh(draft)
    assert draft.parameters["self_report_weight"] == "0.5"

    no_note = client.patch(
        f"{BASE}/{draft.id}",
        json={"parameters": {"longest_ride_km": "45"}},
        headers=auth(session, bureau.reviewer),
    )
    assert no_note.status_code == 422
    assert "longest_ride_km" in no_note.get_json()["errors"]["notes"]


def test_approving_ones_own_submission_is_refused_and_the_attempt_kept(client, session, bureau):
    admin = auth(session, bureau.admin)
    draft = client.post(BASE, json={"code": "bus"}, headers=admin).get_json()
    client.post(f"{BASE}/{draft['id']}/submit", headers=admin)
    response = client.post(
        f"{BASE}/{draft['id']}/approve",
        json={"effective_from": "2026-01-01T00:00:00+08:00", "comment": "Looks right."},
        headers=admin,
    )
    assert response.status_code == 403
    assert response.get_json()["reason"] == "four_eyes"
    version = session.get(MethodologyVersion, draft["id"])
    session.refresh(version)
    assert version.status == VersionStatus.SUBMITTED
    refusal = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "methodology.decision_refused")
    ).one()
    assert (refusal.actor_id, refusal.object_id) == (bureau.admin.id, str(draft["id"]))


def test_decisions_are_refused_with_the_rule_they_break(client, session, bureau):
    admin, reviewer = auth(session, bureau.admin), auth(session, bureau.reviewer)
    current = bureau.approved("bus", effective_from=START)
    pending = bureau.submitted("bus")
    overlapping = client.post(
        f"{BASE}/{pending.id}/approve",
        json={"effective_from": START.isoformat(), "comment": "ok"},
        headers=admin,
    )
    assert overlapping.status_code == 422
    assert overlapping.get_json()["reason"] == "overlapping_versions"
    assert "effective_from" in overlapping.get_json()["errors"]
    naive = client.post(
        f"{BASE}/{pending.id}/approve",
        json={"effective_from": "2027-01-01T00:00:00", "comment": "ok"},
        headers=admin,
    )
    assert naive.status_code == 422
    assert "effective_from" in naive.get_json()["errors"]
    by_reviewer = client.post(
        f"{BASE}/{pending.id}/approve",
        json={"effective_from": "2027-01-01T00:00:00+08:00", "comment": "ok"},
        headers=reviewer,
    )
    assert by_reviewer.status_code == 403
    immutable = client.patch(
        f"{BASE}/{current.id}",
        json={"parameters": {"baseline_g_per_pkm": "1"}, "notes": {"baseline_g_per_pkm": "x"}},
        headers=reviewer,
    )
    assert immutable.status_code == 409
    assert immutable.get_json()["reason"] == "version_immutable"
    unknown = client.post(BASE, json={"code": "teleport"}, headers=reviewer)
    assert unknown.status_code == 404


def test_trying_an_activity_names_what_is_wrong(client, session, bureau):
    headers = auth(session, bureau.reviewer)

    def attempt(**body):
        payload = {"kind": "bus_ride", "quantities": {"distance_km": "10.0"}} | body
        payload.setdefault("occurred_at", "2026-03-01T08:30:00+08:00")
        return client.post(f"{BASE}/apply", json=payload, headers=headers)

    early = attempt()
    assert early.status_code == 422
    assert early.get_json()["reason"] == "no_version_in_effect"
    assert "occurred_at" in early.get_json()["errors"]
    bureau.approved("bus", effective_from=START)
    bureau.approved("recycling", effective_from=START)

    unknown = attempt(kind="teleport")
    assert unknown.get_json()["reason"] == "unknown_activity_kind"
    assert "kind" in unknown.get_json()["errors"]
    negative = attempt(quantities={"distance_km": "-1"})
    assert negative.status_code == 422
    assert negative.get_json()["reason"] == "invalid_quantities"
    assert "distance_km" in negative.get_json()["errors"]["quantities"]
    unknown_material = attempt(kind="recycling_weigh_in", quantities={"material": "x", "kg": "1"})
    assert "material" in unknown_material.get_json()["errors"]["quantities"]

    ok = attempt(self_reported=True)
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    assert body["label"] == "bus@1.0.0"
    assert body["quantification"]["reduction_g"] == 135
    assert "10.0 km × 26.9 g/km" in body["quantification"]["trace"]["en"]
    assert body["parameters"]["self_report_weight"] == "0.5"
    assert session.scalar(sa.select(sa.func.count()).select_from(MethodologyVersion)) == 2


def test_the_catalogue_is_open_without_signing_in(client, session, bureau):
    bureau.approved("bus", effective_from=START)
    response = client.get("/api/v1/methodologies")
    assert response.status_code == 200
    entries = {entry["code"]: entry for entry in response.get_json()["items"]}
    assert set(entries) == set(bureau.plugins)
    bus = entries["bus"]
    assert bus["name"] == {"zh": "公交出行", "en": "Bus ride"}
    assert "passenger-km" in bus["formula"]["en"]
    assert bus["in_effect"]["version"] == "1.0.0"
    factor = next(p for p in bus["in_effect"]["parameters"] if p["name"] == "baseline_g_per_pkm")
    assert (factor["value"], factor["unit"]) == ("26.9", "g CO2e/pkm")
    assert "Shenzhen" in factor["source"]
    assert entries["metro"]["in_effect"] is None
    one = client.get("/api/v1/methodologies/bus").get_json()
    assert one["in_effect"]["effective_from"].startswith("2026-01-01")
    assert client.get("/api/v1/methodologies/teleport").status_code == 404
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["paths"]["/api/v1/methodologies"]["get"]["security"] == []


def test_residents_cannot_reach_the_bureau_api(client, session):
    resident = make_user(session, Role.RESIDENT)
    response = client.get(BASE, headers=auth(session, resident))
    assert response.status_code == 403


@pytest.mark.parametrize(("days_ago", "refused"), [(89, True), (91, False)])
def test_an_admin_an_account_made_recently_cannot_approve_its_makers_change(
    client, session, bureau, days_ago, refused
):
    """The finding: one admin makes a second admin, who approves the first one's change. Within
    the independence period (90 days by default) the second admin is not a second pair of eyes."""
    made = make_user(session, Role.BUREAU_ADMIN)
    made.created_by_id = bureau.admin.id
    made.created_at = clock.now() - timedelta(days=days_ago)
    session.commit()
    maker = auth(session, bureau.admin)
    draft = client.post(BASE, json={"code": "bus"}, headers=maker).get_json()
    client.post(f"{BASE}/{draft['id']}/submit", headers=maker)
    response = client.post(
        f"{BASE}/{draft['id']}/approve",
        json={"effective_from": "2026-01-01T00:00:00+08:00", "comment": "Looks right."},
        headers=auth(session, made),
    )
    version = session.get(MethodologyVersion, draft["id"])
    session.refresh(version)
    if refused:
        assert response.status_code == 403
        assert response.get_json()["reason"] == "not_independent"
        assert version.status == VersionStatus.SUBMITTED
        refusal = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "methodology.decision_refused")
        ).one()
        assert refusal.summary["reason"] == "not_independent" and refusal.actor_id == made.id
    else:
        assert response.status_code == 200, response.get_json()
        assert version.status == VersionStatus.APPROVED and version.decided_by_id == made.id
