"""Cashiers and their stores through the API, as on the manager's staff and stores pages."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.merchants.models import Store
from tests.factories import next_mobile
from tests.merchants.support import api_headers, make_merchant, make_staff

NEW_PASSWORD = "counter-2026-green"


def test_a_manager_adds_a_store_and_a_cashier_who_signs_in_and_sees_only_it(client, session):
    merchant, first_store = make_merchant(session)
    manager = api_headers(client, make_staff(session, merchant))
    store = {"name": "二号店", "address": "西夏区 2 号"}
    added = client.post("/api/v1/merchant/stores", json=store, headers=manager)
    assert added.status_code == 201
    second_id = added.get_json()["id"]
    assert session.get(Store, second_id).merchant_id == merchant.id

    mobile = next_mobile()
    created = client.post(
        "/api/v1/merchant/staff",
        json={"mobile": mobile, "password": NEW_PASSWORD, "display_name": "收银员",
              "store_ids": [second_id]},
        headers=manager,
    )  # fmt: skip
    assert created.status_code == 201, created.get_json()
    cashier = created.get_json()
    assert cashier["merchant_role"] == "cashier" and cashier["store_ids"] == [second_id]
    assert cashier["mobile"] != mobile and "password" not in cashier

    token = client.post("/api/v1/auth/tokens", json={"mobile": mobile, "password": NEW_PASSWORD})
    assert token.status_code == 201
    counter = {"Authorization": f"Bearer {token.get_json()['token']}"}
    stores = client.get("/api/v1/merchant/stores", headers=counter).get_json()
    assert [store["id"] for store in stores] == [second_id]
    assert client.get("/api/v1/merchant/staff", headers=counter).status_code == 403

    moved = client.put(
        f"/api/v1/merchant/staff/{cashier['id']}/stores",
        json={"store_ids": [first_store.id, second_id]},
        headers=manager,
    )
    assert moved.status_code == 200
    listed = client.get("/api/v1/merchant/staff", headers=manager).get_json()
    by_id = {member["id"]: member for member in listed}
    assert by_id[cashier["id"]]["store_ids"] == [first_store.id, second_id]

    disabled = client.patch(
        f"/api/v1/merchant/staff/{cashier['id']}", json={"is_active": False}, headers=manager
    )
    assert disabled.status_code == 200 and disabled.get_json()["is_active"] is False
    refused = client.post("/api/v1/auth/tokens", json={"mobile": mobile, "password": NEW_PASSWORD})
    assert refused.status_code == 401


def test_bad_staff_requests_write_nothing(client, session):
    merchant, _store = make_merchant(session)
    other_merchant, other_store = make_merchant(session, name="别家")
    manager_user = make_staff(session, merchant)
    manager = api_headers(client, manager_user)
    before = session.scalar(sa.select(sa.func.count()).select_from(User))
    base = {"mobile": next_mobile(), "password": NEW_PASSWORD, "display_name": "收银员"}
    cases = [
        ({**base, "store_ids": [other_store.id]}, 422),
        ({**base, "merchant_role": "owner"}, 422),
        ({**base, "password": "short"}, 422),
        ({**base, "display_name": "名" * 65}, 422),
        ({**base, "store_ids": ["1"]}, 422),
        ({key: value for key, value in base.items() if key != "mobile"}, 422),
    ]
    for body, status in cases:
        response = client.post("/api/v1/merchant/staff", json=body, headers=manager)
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["code"] == status
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == before
    self_off = client.patch(
        f"/api/v1/merchant/staff/{manager_user.id}", json={"is_active": False}, headers=manager
    )
    assert self_off.status_code == 422 and self_off.get_json()["reason"] == "cannot_disable_self"
    other = make_staff(session, other_merchant, "cashier")
    foreign = client.patch(
        f"/api/v1/merchant/staff/{other.id}", json={"is_active": False}, headers=manager
    )
    assert foreign.status_code == 404
    session.expire_all()
    assert session.get(User, other.id).is_active is True
