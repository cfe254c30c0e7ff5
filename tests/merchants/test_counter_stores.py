"""Cashiers work at stores: managers assign them (audited), and a scan happens at one store.

An offer is redeemed only at the stores it names; the store is recorded on the redemption. A
manager works at every store of the merchant, nobody at another merchant's.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.errors import DomainError, NotFound
from app.merchants import services
from app.merchants.models import Store
from app.merchants.services import Staff
from app.redemption.models import Redemption
from tests.factories import csrf_token_from, log_in
from tests.merchants.support import (
    SHANGHAI,
    api_headers,
    balance,
    issue,
    key,
    make_merchant,
    make_offer,
    make_staff,
    token_row,
)


@pytest.fixture
def second_store(session, scene) -> Store:
    """Another store of the scene's merchant, where the scene's offer is not valid."""
    store = Store(merchant_id=scene.merchant.id, name="绿色停车场二号店", address="西夏区 2 号")
    session.add(store)
    session.flush()
    return store


def audit_of(session, user_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.action == "merchant_staff.stores",
                AuditEntry.object_id == str(user_id),
            )
        )
    )


# --- assignment -------------------------------------------------------------------------------


def test_a_manager_assigns_a_cashier_to_stores(session, scene, second_store):
    manager = Staff.of(scene.manager)
    stores = services.assign_stores(session, SYSTEM, manager, scene.cashier.id, [second_store.id])
    assert [store.id for store in stores] == [second_store.id]
    assert services.counter_stores(session, Staff.of(scene.cashier)) == [second_store]
    assert services.counter_stores(session, manager) == [scene.store, second_store]
    (entry,) = audit_of(session, scene.cashier.id)
    assert entry.summary == {
        "merchant_id": scene.merchant.id,
        "from": [scene.store.id],
        "to": [second_store.id],
    }
    # The same stores again change nothing and add nothing to the log.
    services.assign_stores(session, SYSTEM, manager, scene.cashier.id, [second_store.id])
    assert len(audit_of(session, scene.cashier.id)) == 1


def test_assignment_refusals(session, scene, second_store):
    manager, cashier = Staff.of(scene.manager), Staff.of(scene.cashier)
    other, other_store = make_merchant(session, name="别家商户")
    stranger = make_staff(session, other, "cashier")
    cases = [
        (cashier, scene.cashier.id, [second_store.id], "manager_only"),
        (manager, scene.cashier.id, [], "invalid_stores"),
        (manager, scene.cashier.id, [other_store.id], "invalid_stores"),
        (manager, scene.cashier.id, [scene.store.id, other_store.id], "invalid_stores"),
        (manager, scene.manager.id, [scene.store.id], "manager_works_everywhere"),
    ]
    for staff, user_id, store_ids, reason in cases:
        with pytest.raises(DomainError) as refused:
            services.assign_stores(session, SYSTEM, staff, user_id, store_ids)
        assert refused.value.reason == reason, store_ids
    with pytest.raises(NotFound):
        services.assign_stores(session, SYSTEM, manager, stranger.id, [scene.store.id])
    assert services.counter_stores(session, cashier) == [scene.store]
    assert audit_of(session, scene.cashier.id) == []


def test_assignment_through_the_api(client, session, scene, second_store):
    manager = api_headers(client, scene.manager)
    url = f"/api/v1/merchant/staff/{scene.cashier.id}/stores"
    response = client.put(
        url, json={"store_ids": [scene.store.id, second_store.id]}, headers=manager
    )
    assert response.status_code == 200, response.get_json()
    assert [store["name"] for store in response.get_json()["stores"]] == [
        "绿色停车场一号店",
        "绿色停车场二号店",
    ]
    cashier = api_headers(client, scene.cashier)
    mine = client.get("/api/v1/merchant/stores", headers=cashier).get_json()
    assert [store["id"] for store in mine] == [scene.store.id, second_store.id]
    refused = client.put(url, json={"store_ids": [second_store.id]}, headers=cashier)
    assert refused.status_code == 403 and refused.get_json()["reason"] == "manager_only"
    _other, other_store = make_merchant(session, name="别家商户")
    foreign = client.put(url, json={"store_ids": [other_store.id]}, headers=manager)
    assert foreign.status_code == 422 and foreign.get_json()["reason"] == "invalid_stores"


def test_assignment_on_the_staff_page(client, session, scene, second_store):
    log_in(client, scene.manager)
    page = client.get("/merchant/staff").get_data(as_text=True)
    assert f'action="/merchant/staff/{scene.cashier.id}/stores"' in page
    assert "绿色停车场二号店" in page
    token = csrf_token_from(client, "/merchant/staff")
    saved = client.post(
        f"/merchant/staff/{scene.cashier.id}/stores",
        data={"csrf_token": token, "store_ids": [str(second_store.id)]},
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "已保存" in saved.get_data(as_text=True)
    assert services.counter_stores(session, Staff.of(scene.cashier)) == [second_store]
    refused = client.post(
        f"/merchant/staff/{scene.cashier.id}/stores",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "请至少选择一个本商户的门店" in refused.get_data(as_text=True)
    assert services.counter_stores(session, Staff.of(scene.cashier)) == [second_store]
    assert len(audit_of(session, scene.cashier.id)) == 1


# --- redeeming at a store ---------------------------------------------------------------------


def preview(client, headers, token: str, store_id: int | None = None):
    return client.post(
        "/api/v1/merchant/redemptions/preview",
        json={"token": token, "store_id": store_id},
        headers=headers,
    )


def confirm(client, headers, token: str, store_id: int | None = None):
    return client.post(
        "/api/v1/merchant/redemptions",
        json={"token": token, "store_id": store_id},
        headers=headers,
    )


def test_a_cashier_at_a_store_where_the_offer_is_not_valid_is_refused(
    app, client, session, scene, second_store
):
    cashier = make_staff(session, scene.merchant, "cashier", stores=[second_store])
    headers = api_headers(client, cashier)
    issued = issue(app, session, scene.resident, scene.offer)
    shown = preview(client, headers, issued.signed)
    assert shown.status_code == 403
    assert shown.get_json()["reason"] == "offer_not_at_store"
    assert "不能在本门店兑换" in shown.get_json()["message"]
    refused = confirm(client, headers, issued.signed)
    assert refused.status_code == 403 and refused.get_json()["reason"] == "offer_not_at_store"
    assert balance(session, scene.resident) == 2000
    assert token_row(session, issued.id).outcome == "offer_not_at_store"
    assert session.scalar(sa.select(sa.func.count()).select_from(Redemption)) == 0


def test_a_cashier_at_the_right_store_redeems_and_the_store_is_recorded(
    app, client, session, scene, second_store
):
    headers = api_headers(client, scene.cashier)  # works at the scene's store only
    issued = issue(app, session, scene.resident, scene.offer)
    shown = preview(client, headers, issued.code)
    assert shown.status_code == 200
    assert shown.get_json()["store_name"] == "绿色停车场一号店"
    done = confirm(client, headers, issued.code)
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["redemption"]["store_id"] == scene.store.id
    assert done.get_json()["store_name"] == "绿色停车场一号店"
    assert session.get(Redemption, issued.id).store_id == scene.store.id


def test_a_cashier_at_several_stores_chooses_one(app, client, session, scene, second_store):
    both = make_staff(session, scene.merchant, "cashier", stores=[scene.store, second_store])
    headers = api_headers(client, both)
    issued = issue(app, session, scene.resident, scene.offer)
    unchosen = confirm(client, headers, issued.signed)
    assert unchosen.status_code == 422
    assert unchosen.get_json()["reason"] == "store_required"
    assert unchosen.get_json()["errors"] == {"store_id": ["请选择您所在的门店。"]}
    assert token_row(session, issued.id).burned_at is None  # a store problem burns nothing
    assert confirm(client, headers, issued.signed, second_store.id).status_code == 403
    again = issue(app, session, scene.resident, scene.offer)
    done = confirm(client, headers, again.signed, scene.store.id)
    assert done.status_code == 201
    assert session.get(Redemption, again.id).store_id == scene.store.id


def test_a_cashier_cannot_pick_a_store_they_do_not_work_at(
    app, client, session, scene, second_store
):
    elsewhere = make_offer(session, scene.merchant, second_store, title="二号店停车")
    headers = api_headers(client, scene.cashier)
    issued = issue(app, session, scene.resident, elsewhere)
    response = confirm(client, headers, issued.signed, second_store.id)
    assert response.status_code == 403
    assert response.get_json()["reason"] == "store_not_allowed"
    assert token_row(session, issued.id).burned_at is None


def test_a_manager_works_at_every_store(app, client, session, scene, second_store):
    elsewhere = make_offer(session, scene.merchant, second_store, title="二号店停车")
    headers = api_headers(client, scene.manager)
    first = issue(app, session, scene.resident, scene.offer)
    assert confirm(client, headers, first.signed, scene.store.id).status_code == 201
    second = issue(app, session, scene.resident, elsewhere)
    assert confirm(client, headers, second.signed).status_code == 422  # two stores: say which
    third = issue(app, session, scene.resident, elsewhere)
    assert confirm(client, headers, third.signed, second_store.id).status_code == 201
    assert session.get(Redemption, third.id).store_id == second_store.id


def test_another_merchants_store_is_refused(app, client, session, scene):
    _other, other_store = make_merchant(session, name="别家商户")
    issued = issue(app, session, scene.resident, scene.offer)
    for user in (scene.manager, scene.cashier):
        headers = api_headers(client, user)
        for send in (preview, confirm):
            response = send(client, headers, issued.signed, other_store.id)
            assert response.status_code == 403, send.__name__
            assert response.get_json()["reason"] == "store_not_allowed"
    assert token_row(session, issued.id).burned_at is None


def test_a_cashier_without_a_store_cannot_redeem(app, session, scene):
    from app.redemption import services as redemption

    lost = Staff.of(scene.cashier)
    session.execute(sa.text("DELETE FROM staff_stores WHERE user_id = :id"), {"id": lost.user_id})
    issued = issue(app, session, scene.resident, scene.offer)
    with pytest.raises(DomainError) as refused:
        redemption.preview(
            session, lost, issued.signed, store_id=None, now=issued.issued_at,
            key=key(app), zone=SHANGHAI,
        )  # fmt: skip
    assert refused.value.reason == "no_store_assigned" and refused.value.status == 403


def test_the_scan_page_offers_the_cashiers_stores(app, client, session, scene, second_store):
    both = make_staff(session, scene.merchant, "cashier", stores=[scene.store, second_store])
    log_in(client, both)
    page = client.get("/merchant/scan").get_data(as_text=True)
    assert 'name="store_id"' in page and "绿色停车场二号店" in page
    issued = issue(app, session, scene.resident, scene.offer)
    csrf = csrf_token_from(client, "/merchant/scan")
    wrong = client.post(
        "/merchant/scan",
        data={"csrf_token": csrf, "token": issued.code, "store_id": str(second_store.id)},
    )
    assert wrong.status_code == 403
    assert "此权益不能在本门店兑换" in wrong.get_data(as_text=True)
    shown = client.post(
        "/merchant/scan",
        data={"csrf_token": csrf, "token": issued.code, "store_id": str(scene.store.id)},
    )
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "绿色停车场一号店" in html
    assert f'name="store_id" type="hidden" value="{scene.store.id}"' in html
    # The store just used is preselected on the next scan.
    again = client.get("/merchant/scan").get_data(as_text=True)
    assert f'selected value="{scene.store.id}"' in again
    done = client.post(
        "/merchant/scan/confirm",
        data={"csrf_token": csrf, "token": issued.code, "store_id": str(scene.store.id)},
    )
    assert done.status_code == 200 and "绿色停车场一号店" in done.get_data(as_text=True)
    assert session.get(Redemption, issued.id).store_id == scene.store.id


def test_a_single_store_cashier_sees_no_store_choice(client, scene):
    log_in(client, scene.cashier)
    assert 'name="store_id"' not in client.get("/merchant/scan").get_data(as_text=True)
