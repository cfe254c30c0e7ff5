"""Merchants apply, the bureau decides (audited), managers run their stores and staff."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import MerchantRole, User
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.merchants import services
from app.merchants.models import Merchant, MerchantStatus, Store
from tests.factories import PASSWORD, csrf_token_from, log_in, make_user, next_mobile
from tests.merchants.support import api_headers, make_merchant, make_staff


def application(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "塞上停车管理有限公司",
        "kind": "parking",
        "credit_code": None,
        "contact_name": "马经理",
        "contact_mobile": next_mobile(),
        "password": "park-2026-ok",
        "stores": [{"name": "鼓楼停车场", "address": "银川市兴庆区鼓楼北街 1 号"}],
    }
    body.update(changes)
    return body


def audit_actions(session, object_type: str, object_id: int) -> list[str]:
    return list(
        session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )


def test_apply_then_the_bureau_approves_suspends_and_reinstates(client, session):
    body = application()
    response = client.post("/api/v1/merchants/applications", json=body)
    assert response.status_code == 201, response.get_json()
    merchant_id = response.get_json()["id"]
    assert response.get_json()["status"] == "pending"
    assert "voucher_key" not in response.get_json()
    manager = session.scalar(sa.select(User).where(User.mobile == body["contact_mobile"]))
    assert manager.merchant_id == merchant_id and manager.merchant_role == MerchantRole.MANAGER
    assert (
        session.scalar(sa.select(Store.name).where(Store.merchant_id == merchant_id))
        == "鼓楼停车场"
    )

    admin = api_headers(client, make_user(session, Role.BUREAU_ADMIN))
    url = f"/api/v1/bureau/merchants/{merchant_id}/decision"
    assert client.post(url, json={"decision": "approve"}, headers=admin).get_json()["status"] == (
        "approved"
    )
    no_reason = client.post(url, json={"decision": "suspend"}, headers=admin)
    assert no_reason.status_code == 422 and "note" in no_reason.get_json()["errors"]
    suspended = client.post(url, json={"decision": "suspend", "note": "投诉待查"}, headers=admin)
    assert suspended.get_json()["status"] == "suspended"
    assert suspended.get_json()["decision_note"] == "投诉待查"
    wrong = client.post(url, json={"decision": "approve"}, headers=admin)
    assert wrong.status_code == 409 and wrong.get_json()["reason"] == "invalid_transition"
    assert client.post(url, json={"decision": "reinstate"}, headers=admin).status_code == 200
    assert audit_actions(session, "merchant", merchant_id) == [
        "merchant.apply",
        "merchant.approve",
        "merchant.suspend",
        "merchant.reinstate",
    ]
    listed = client.get("/api/v1/bureau/merchants?status=approved", headers=admin).get_json()
    assert merchant_id in [item["id"] for item in listed["items"]]


def test_a_rejection_needs_a_reason_and_is_shown_to_the_manager(client, session):
    merchant, _store = make_merchant(session, status=MerchantStatus.PENDING)
    manager = make_staff(session, merchant)
    admin = api_headers(client, make_user(session, Role.BUREAU_ADMIN))
    url = f"/api/v1/bureau/merchants/{merchant.id}/decision"
    rejected = client.post(url, json={"decision": "reject", "note": "证照不全"}, headers=admin)
    assert rejected.get_json()["status"] == "rejected"
    page = client.application.test_client()
    log_in(page, manager)
    assert "证照不全" in page.get("/merchant").get_data(as_text=True)


def test_bad_applications(client, session):
    taken = make_user(session, Role.RESIDENT)
    cases = [
        (application(stores=[]), "store_required"),
        (application(contact_mobile="123"), "invalid_mobile"),
        (application(contact_mobile=taken.mobile), "duplicate_mobile"),
        (application(password="short"), "weak_password"),
        (application(credit_code="ABC"), "invalid_credit_code"),
    ]
    for body, reason in cases:
        response = client.post("/api/v1/merchants/applications", json=body)
        assert response.get_json()["reason"] == reason, body
    assert session.scalar(sa.select(sa.func.count()).select_from(Merchant)) == 0


def test_apply_on_the_page_signs_the_manager_in(client, session):
    token = csrf_token_from(client, "/merchants/apply")
    mobile = next_mobile()
    response = client.post(
        "/merchants/apply",
        data={
            "csrf_token": token,
            "name": "清真美食餐厅",
            "kind": "restaurant",
            "store_name": "南门店",
            "store_address": "银川市兴庆区南门广场 2 号",
            "contact_name": "杨老板",
            "contact_mobile": mobile,
            "password": "halal-2026-food",
        },
    )
    assert response.status_code == 302
    home = client.get("/merchant").get_data(as_text=True)
    assert "清真美食餐厅" in home
    assert "等待生态环境局审核" in home


def test_only_bureau_admins_decide_and_refusals_are_audited(client, session):
    merchant, _store = make_merchant(session, status=MerchantStatus.PENDING)
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    response = client.post(
        f"/api/v1/bureau/merchants/{merchant.id}/decision",
        json={"decision": "approve"},
        headers=api_headers(client, reviewer),
    )
    assert response.status_code == 403
    denied = session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "access.denied", AuditEntry.actor_id == reviewer.id
        )
    )
    assert denied.summary["permission"] == "approve_merchants"


def test_bureau_pages_decide_with_a_form(client, session):
    merchant, _store = make_merchant(session, status=MerchantStatus.PENDING, name="新申请商户")
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    listing = client.get("/bureau/merchants?status=pending").get_data(as_text=True)
    assert "新申请商户" in listing
    token = csrf_token_from(client, f"/bureau/merchants/{merchant.id}")
    response = client.post(
        f"/bureau/merchants/{merchant.id}/decision",
        data={"csrf_token": token, "decision": "approve", "note": ""},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Merchant, merchant.id).status == MerchantStatus.APPROVED


def test_managers_add_stores_and_cashiers_cashiers_cannot(client, session):
    merchant, _store = make_merchant(session)
    manager, cashier = make_staff(session, merchant), make_staff(session, merchant, "cashier")
    log_in(client, manager)
    token = csrf_token_from(client, "/merchant/stores")
    added = client.post(
        "/merchant/stores",
        data={"csrf_token": token, "name": "二号店", "address": "银川市西夏区怀远路 9 号"},
    )
    assert added.status_code == 302
    mobile = next_mobile()
    data = {"csrf_token": token, "display_name": "小李", "mobile": mobile,
            "merchant_role": "cashier", "password": PASSWORD}  # fmt: skip
    # With two stores, a cashier's stores must be chosen.
    unplaced = client.post("/merchant/staff", data=data)
    assert unplaced.status_code == 422
    assert "请至少选择一个本商户的门店" in unplaced.get_data(as_text=True)
    second = session.scalar(sa.select(Store).where(Store.name == "二号店"))
    created = client.post("/merchant/staff", data=data | {"store_ids": [str(second.id)]})
    assert created.status_code == 302
    new_cashier = session.scalar(sa.select(User).where(User.mobile == mobile))
    assert new_cashier.merchant_id == merchant.id
    assert new_cashier.merchant_role == MerchantRole.CASHIER
    assert services.store_ids_by_cashier(session, merchant.id)[new_cashier.id] == [second.id]
    disabled = client.post(
        f"/merchant/staff/{new_cashier.id}/active", data={"csrf_token": token, "active": "0"}
    )
    assert disabled.status_code == 302
    session.expire_all()
    assert not session.get(User, new_cashier.id).is_active
    assert "merchant_staff.disable" in audit_actions(session, "user", new_cashier.id)

    other = client.application.test_client()
    log_in(other, cashier)
    assert other.get("/merchant/staff").status_code == 403
    token = csrf_token_from(other, "/merchant/stores")
    refused = other.post(
        "/merchant/stores", data={"csrf_token": token, "name": "三号店", "address": "某处"}
    )
    assert refused.status_code == 403
    assert "店长" in refused.get_data(as_text=True)
