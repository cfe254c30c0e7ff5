"""Managers edit offers (audited): terms of a public-service offer go back to the bureau, stock
alone does not; redemptions already made keep what they were made with; QR codes shown before a
change of terms are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app import context as app_context
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.errors import DomainError
from app.merchants import offers
from app.merchants.models import MerchantKind, Offer, OfferStatus, Store
from app.merchants.services import Staff
from app.redemption.models import Redemption
from tests.factories import csrf_token_from, log_in, make_user
from tests.merchants.support import (
    api_headers,
    balance,
    give_points,
    issue,
    make_merchant,
    make_offer,
    make_staff,
    token_row,
)


def body_of(offer: Offer, **changes: object) -> dict[str, object]:
    """The offer as the API takes it, with ``changes``."""
    body: dict[str, object] = {
        "reward_type": offer.reward_type,
        "config": dict(offer.config),
        "title": offer.title,
        "terms": offer.terms,
        "points_price": offer.points_price,
        "stock": offer.stock,
        "daily_limit": offer.daily_limit,
        "monthly_limit": offer.monthly_limit,
        "valid_from": offer.valid_from.isoformat(),
        "valid_until": offer.valid_until.isoformat(),
        "store_ids": [store.id for store in offer.stores],
    }
    body.update(changes)
    return body


def put(client, headers, offer: Offer, **changes: object):
    return client.put(
        f"/api/v1/merchant/offers/{offer.id}", json=body_of(offer, **changes), headers=headers
    )


def edits(session, offer: Offer) -> list[AuditEntry]:
    return list(
        session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.action == "offer.edit", AuditEntry.object_id == str(offer.id)
            )
        )
    )


def fresh(session, offer: Offer) -> Offer:
    """The offer as the requests left it, with its stores."""
    merchant_id, offer_id = offer.merchant_id, offer.id
    session.expunge_all()
    return offers.merchant_offer(session, merchant_id, offer_id)


def test_changing_a_public_service_offers_terms_sends_it_back_to_the_bureau(
    app, client, session, scene
):
    manager = api_headers(client, scene.manager)
    response = put(client, manager, scene.offer, points_price=400, config={"free_minutes": 90})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["points_price"] == 400
    assert body["config"] == {"free_minutes": 90, "valid_days": 30}
    assert client.get(f"/api/v1/offers/{scene.offer.id}").status_code == 404  # off until approved
    (entry,) = edits(session, scene.offer)
    assert entry.summary["changes"] == {
        "points_price": [500, 400],
        "config": [{"free_minutes": 60, "valid_days": 30}, {"free_minutes": 90, "valid_days": 30}],
    }
    assert entry.summary["status"] == ["active", "pending"]
    # Not redeemable meanwhile: a token cannot even be issued.
    with pytest.raises(DomainError) as refused:
        issue(app, session, scene.resident, fresh(session, scene.offer))
    assert refused.value.reason == "offer_not_found"
    offers.decide_offer(session, SYSTEM, scene.offer.id, approve=True)
    issued = issue(app, session, scene.resident, fresh(session, scene.offer))
    cashier = api_headers(client, scene.cashier)
    done = client.post("/api/v1/merchant/redemptions", json={"token": issued.code}, headers=cashier)
    assert done.status_code == 201 and done.get_json()["redemption"]["points"] == 400


def test_restocking_keeps_the_offer_on(app, client, session, scene):
    issued = issue(app, session, scene.resident, scene.offer)
    response = put(client, api_headers(client, scene.manager), scene.offer, stock=50)
    assert response.status_code == 200
    assert response.get_json()["status"] == "active" and response.get_json()["stock"] == 50
    (entry,) = edits(session, scene.offer)
    assert entry.summary["changes"] == {"stock": [10, 50]}
    # A QR code shown before a change of stock alone still works.
    cashier = api_headers(client, scene.cashier)
    done = client.post("/api/v1/merchant/redemptions", json={"token": issued.code}, headers=cashier)
    assert done.status_code == 201
    assert fresh(session, scene.offer).stock == 49


def test_an_edit_that_changes_nothing_is_not_recorded(client, session, scene):
    response = put(client, api_headers(client, scene.manager), scene.offer)
    assert response.status_code == 200 and response.get_json()["status"] == "active"
    assert edits(session, scene.offer) == []


def test_a_coupon_stays_on_when_its_terms_change(client, session):
    merchant, store = make_merchant(session, kind=MerchantKind.SHOP, name="绿叶超市")
    coupon = make_offer(
        session, merchant, store, reward_type="coupon", title="减 5 元",
        config={"amount_off_fen": 500, "valid_days": 30}, public_service=False,
    )  # fmt: skip
    manager = api_headers(client, make_staff(session, merchant))
    response = put(client, manager, coupon, title="减 8 元", config={"amount_off_fen": 800})
    assert response.status_code == 200
    assert response.get_json()["status"] == "active"
    assert response.get_json()["summary"] == "立减 8 元"


def test_redemptions_already_made_keep_their_price_title_and_voucher(app, client, session, scene):
    cashier = api_headers(client, scene.cashier)
    issued = issue(app, session, scene.resident, scene.offer)
    done = client.post("/api/v1/merchant/redemptions", json={"token": issued.code}, headers=cashier)
    voucher = done.get_json()["redemption"]["fulfilment"]
    put(client, api_headers(client, scene.manager), scene.offer,
        points_price=900, title="两小时免费停车", config={"free_minutes": 120})  # fmt: skip
    session.expire_all()
    redemption = session.get(Redemption, issued.id)
    assert redemption.points == 500 and redemption.offer_title == "60 分钟免费停车"
    assert redemption.fulfilment == voucher
    assert balance(session, scene.resident) == 1500
    listed = client.get("/api/v1/merchant/settlement", headers=cashier).get_json()
    assert [line["offer_title"] for line in listed["lines"]] == ["60 分钟免费停车"]


def test_a_qr_code_shown_before_a_change_of_terms_is_refused(app, client, session):
    merchant, store = make_merchant(session, kind=MerchantKind.SHOP, name="绿叶超市")
    coupon = make_offer(
        session, merchant, store, reward_type="coupon", title="减 5 元",
        config={"amount_off_fen": 500, "valid_days": 30}, public_service=False,
    )  # fmt: skip
    resident = make_user(session, Role.RESIDENT)
    give_points(session, resident, 2000)
    shown = issue(app, session, resident, coupon)
    put(client, api_headers(client, make_staff(session, merchant)), coupon, points_price=900)
    cashier = api_headers(client, make_staff(session, merchant, "cashier"))
    preview = client.post(
        "/api/v1/merchant/redemptions/preview", json={"token": shown.signed}, headers=cashier
    )
    assert preview.status_code == 409 and preview.get_json()["reason"] == "offer_changed"
    refused = client.post(
        "/api/v1/merchant/redemptions", json={"token": shown.signed}, headers=cashier
    )
    assert refused.status_code == 409
    assert token_row(session, shown.id).outcome == "offer_changed"
    assert balance(session, resident) == 2000


def test_bad_edits(client, session, scene):
    manager = api_headers(client, scene.manager)
    _other, other_store = make_merchant(session, name="别家商户")
    cases = [
        ({"stock": -1}, "invalid_number"),
        ({"points_price": 0}, "invalid_number"),
        ({"config": {"free_minutes": 0}}, "invalid_config"),
        ({"config": {"free_minutes": 30, "amount_off_fen": 100}}, "invalid_config"),
        ({"reward_type": "coupon", "config": {"amount_off_fen": 500}}, "reward_type_fixed"),
        ({"valid_until": "2019-01-01T00:00:00+08:00"}, "invalid_window"),
        ({"store_ids": [other_store.id]}, "invalid_stores"),
        ({"store_ids": []}, "invalid_stores"),
    ]
    for changes, reason in cases:
        response = put(client, manager, scene.offer, **changes)
        assert response.status_code == 422, changes
        assert response.get_json()["reason"] == reason, changes
    assert fresh(session, scene.offer).stock == 10
    assert edits(session, scene.offer) == []


def test_who_may_edit_what(client, session, scene):
    cashier = put(client, api_headers(client, scene.cashier), scene.offer, stock=1)
    assert cashier.status_code == 403 and cashier.get_json()["reason"] == "manager_only"
    other, _store = make_merchant(session, name="别家商户")
    stranger = put(client, api_headers(client, make_staff(session, other)), scene.offer, stock=1)
    assert stranger.status_code == 404
    offers.withdraw_offer(session, SYSTEM, Staff.of(scene.manager), scene.offer.id)
    withdrawn = put(client, api_headers(client, scene.manager), scene.offer, stock=1)
    assert withdrawn.status_code == 409 and withdrawn.get_json()["reason"] == "not_editable"


def test_a_rejected_offer_is_resubmitted_by_an_edit(app, session, scene):
    scene.offer.status = OfferStatus.PENDING
    session.flush()
    offers.decide_offer(session, SYSTEM, scene.offer.id, approve=False, note="价格过低")
    data = offers.OfferIn(
        reward_type="parking_discount", config={"free_minutes": 60}, title="60 分钟免费停车",
        terms="", points_price=800, stock=10, daily_limit=None, monthly_limit=None,
        valid_from=scene.offer.valid_from, valid_until=scene.offer.valid_until,
        store_ids=[scene.store.id],
    )  # fmt: skip
    edited = offers.edit_offer(
        session, SYSTEM, Staff.of(scene.manager), scene.offer.id, data,
        reward_types=app_context.of(app).reward_types,
    )  # fmt: skip
    assert edited.status == OfferStatus.PENDING
    assert edited.decision_note == "" and edited.decided_at is None
    assert [offer.id for offer in offers.pending_offers(session)] == [scene.offer.id]


def test_editing_on_the_page(client, session, scene):
    second = Store(merchant_id=scene.merchant.id, name="二号店", address="西夏区 2 号")
    session.add(second)
    session.flush()
    log_in(client, scene.manager)
    listing = client.get("/merchant/offers").get_data(as_text=True)
    assert f"/merchant/offers/{scene.offer.id}/edit" in listing
    url = f"/merchant/offers/{scene.offer.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'value="60 分钟免费停车"' in page and 'name="config.free_minutes" value="60"' in page
    assert 'value="2020-01-01"' in page and 'value="2100-01-01"' in page
    assert "需重新提交生态环境局审核" in page
    token = csrf_token_from(client, url)
    form = {
        "csrf_token": token, "reward_type": "parking_discount", "title": "60 分钟免费停车",
        "config.free_minutes": "60", "config.valid_days": "30", "points_price": "500",
        "stock": "25", "valid_from": "2020-01-01", "valid_until": "2100-01-01",
        "store_ids": [str(scene.store.id)],
    }  # fmt: skip
    restocked = client.post(url, data=form, follow_redirects=True)
    assert "权益已保存。" in restocked.get_data(as_text=True)
    offer = fresh(session, scene.offer)
    assert offer.stock == 25 and offer.status == OfferStatus.ACTIVE
    assert offer.valid_from == datetime(2020, 1, 1, tzinfo=UTC)  # the exact instant was kept
    moved = client.post(
        url, data=form | {"store_ids": [str(scene.store.id), str(second.id)]},
        follow_redirects=True,
    )  # fmt: skip
    assert "生态环境局批准修改后将重新上线" in moved.get_data(as_text=True)
    offer = fresh(session, scene.offer)
    assert [store.id for store in offer.stores] == [scene.store.id, second.id]
    assert offer.status == OfferStatus.PENDING
    bad = client.post(url, data=form | {"config.free_minutes": "0"})
    assert bad.status_code == 422 and 'class="field-error"' in bad.get_data(as_text=True)
