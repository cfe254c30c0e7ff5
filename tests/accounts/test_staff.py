"""Bureau admins create staff accounts; every such action is audited; lists page by cursor."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from tests.factories import PASSWORD, credentials, csrf_token_from, log_in, make_user, next_mobile


def bearer(client, user) -> dict[str, str]:
    token = client.post("/api/v1/auth/tokens", json=credentials(user))
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def test_admin_creates_a_reviewer_and_it_is_audited(client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    mobile = next_mobile()
    response = client.post(
        "/api/v1/bureau/staff",
        json={
            "mobile": mobile,
            "password": "review-desk-2026",
            "display_name": "审核员",
            "role": "bureau_reviewer",
        },
        headers=bearer(client, admin),
    )
    assert response.status_code == 201, response.get_json()
    created = session.scalar(sa.select(User).where(User.mobile == mobile))
    assert created.role == Role.BUREAU_REVIEWER
    entry = session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "staff.create", AuditEntry.object_id == str(created.id)
        )
    )
    assert entry.actor_id == admin.id
    assert entry.actor_role == Role.BUREAU_ADMIN
    assert entry.summary["role"] == "bureau_reviewer"
    assert entry.request_id


def test_admin_cannot_create_resident_accounts(client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    response = client.post(
        "/api/v1/bureau/staff",
        json={
            "mobile": next_mobile(),
            "password": "review-desk-2026",
            "display_name": "x",
            "role": "resident",
        },
        headers=bearer(client, admin),
    )
    assert response.status_code == 422
    assert "role" in response.get_json()["errors"]


def test_admin_disables_staff_and_the_account_can_no_longer_sign_in(client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    headers = bearer(client, admin)
    response = client.patch(
        f"/api/v1/bureau/staff/{reviewer.id}", json={"is_active": False}, headers=headers
    )
    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    refused = client.post(
        "/api/v1/auth/tokens", json={"mobile": reviewer.mobile, "password": PASSWORD}
    )
    assert refused.status_code == 401
    own = client.patch(
        f"/api/v1/bureau/staff/{admin.id}", json={"is_active": False}, headers=headers
    )
    assert own.status_code == 422
    assert own.get_json()["reason"] == "cannot_disable_self"


def test_staff_list_pages_by_cursor(client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    for _ in range(5):
        make_user(session, Role.VERIFIER)
    headers = bearer(client, admin)
    first = client.get("/api/v1/bureau/staff?limit=2", headers=headers).get_json()
    assert len(first["items"]) == 2
    seen = [item["id"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(
            f"/api/v1/bureau/staff?limit=2&cursor={cursor}", headers=headers
        ).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) >= 6
    bad = client.get("/api/v1/bureau/staff?cursor=%%%", headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["reason"] == "invalid_cursor"
    too_many = client.get("/api/v1/bureau/staff?limit=1000", headers=headers)
    assert too_many.status_code == 422


def test_staff_page_creates_account(client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    log_in(client, admin)
    token = csrf_token_from(client, "/bureau/staff/new")
    mobile = next_mobile()
    response = client.post(
        "/bureau/staff/new",
        data={
            "csrf_token": token,
            "display_name": "核查员",
            "mobile": mobile,
            "role": "verifier",
            "password": "verify-desk-2026",
        },
    )
    assert response.status_code == 302
    assert session.scalar(sa.select(User.role).where(User.mobile == mobile)) == Role.VERIFIER
    weak = client.post(
        "/bureau/staff/new",
        data={
            "csrf_token": token,
            "display_name": "x",
            "mobile": next_mobile(),
            "role": "verifier",
            "password": "weak",
        },
    )
    assert weak.status_code == 422
    assert "12" in weak.get_data(as_text=True)
