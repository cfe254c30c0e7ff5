"""Bank rewards: a bank publishes and funds them, residents redeem them in the wallet, the bank
is told by webhook, and the settlement shows what the bank funded."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.accounts.roles import Role
from app.ledger import services as ledger
from app.merchants.models import MerchantKind, Offer
from app.redemption.models import Redemption, RedemptionStatus, RedemptionToken
from app.webhooks.models import WebhookEvent
from rewards.bank import BankReward
from tests.factories import csrf_token_from, log_in, make_user
from tests.merchants.support import (
    api_headers,
    give_points,
    issue,
    make_merchant,
    make_offer,
    make_staff,
    offer_stock,
)
from tests.merchants.test_offers import offer_body
from tests.webhooks.support import (
    CASHBACK_CONFIG,
    T0,
    deliveries,
    make_bank_scene,
    redeem,
    register_endpoint,
)


@pytest.fixture
def scene(session):
    return make_bank_scene(session, stock=1)


def _counts(session) -> tuple[int, int, int]:
    session.expire_all()
    return tuple(  # type: ignore[return-value]
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Redemption, RedemptionToken, WebhookEvent)
    )


def test_only_a_financial_institution_publishes_a_bank_reward(client, session) -> None:
    shop, shop_store = make_merchant(session, name="绿叶超市", kind=MerchantKind.SHOP)
    bank, branch = make_merchant(session, name="宁夏绿色银行", kind=MerchantKind.FINANCIAL)
    body = {"reward_type": "bank_reward", "config": CASHBACK_CONFIG, "title": "返现 10 元"}
    refused = client.post(
        "/api/v1/merchant/offers", json=offer_body(shop_store.id, **body),
        headers=api_headers(client, make_staff(session, shop)),
    )  # fmt: skip
    assert refused.status_code == 403
    assert refused.get_json()["reason"] == "financial_partners_only"
    assert session.scalar(sa.select(sa.func.count()).select_from(Offer)) == 0
    created = client.post(
        "/api/v1/merchant/offers", json=offer_body(branch.id, **body),
        headers=api_headers(client, make_staff(session, bank)),
    )  # fmt: skip
    assert created.status_code == 201
    assert created.get_json()["status"] == "active"  # no public-service review


def test_a_bad_bank_configuration_is_refused(client, session) -> None:
    bank, branch = make_merchant(session, name="宁夏绿色银行", kind=MerchantKind.FINANCIAL)
    config = dict(CASHBACK_CONFIG, rate_cut_bp=25)
    refused = client.post(
        "/api/v1/merchant/offers",
        json=offer_body(branch.id, reward_type="bank_reward", config=config),
        headers=api_headers(client, make_staff(session, bank)),
    )
    assert refused.status_code == 422
    assert "rate_cut_bp" in str(refused.get_json())
    coupon = {"product": "interest_coupon", "product_name": {"zh": "绿色贷", "en": "Green Loan"},
              "rate_cut_bp": 201, "cap_fen": 50_000}  # fmt: skip
    with pytest.raises(Exception, match="rate_cut_bp"):
        BankReward.load_config(coupon)
    assert BankReward.funded_fen(dict(coupon, rate_cut_bp=200)) == 50_000


def test_a_resident_redeems_in_the_wallet_and_the_bank_is_told(client, session, scene) -> None:
    register_endpoint(client, scene.manager, "https://bank.example/hooks")
    with time_machine.travel(T0, tick=False):
        answer = redeem(client, scene.resident, scene.offer)
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["points"] == 800 and body["status"] == "completed"
    assert "银行 App" in body["fulfilment"]["instructions"]
    session.expire_all()
    redemption = session.get(Redemption, body["id"])
    assert redemption.store_id is None and redemption.confirmed_by_id == scene.resident.id
    assert redemption.funded_fen == 1000
    assert ledger.balance(session, scene.resident.id) == 2000 - 800
    assert offer_stock(session, scene.offer) == 0
    token = session.get(RedemptionToken, body["id"])
    assert token.outcome == "redeemed" and token.burned_by_id == scene.resident.id
    [delivery] = deliveries(session)
    assert delivery.attempts == 0  # queued, sent by the worker
    vouchers = client.get("/api/v1/me/vouchers", headers=api_headers(client, scene.resident))
    assert vouchers.get_json()["items"][0]["code"] == body["fulfilment"]["code"]

    # The stock was one: the next redemption is refused, and nothing is written.
    before = _counts(session)
    with time_machine.travel(T0, tick=False):
        again = redeem(client, scene.resident, scene.offer)
    assert again.status_code == 409 and again.get_json()["reason"] == "out_of_stock"
    assert _counts(session) == before
    assert ledger.balance(session, scene.resident.id) == 1200


def test_too_few_points_and_counter_offers_are_refused_in_the_wallet(
    client, session, scene
) -> None:
    parking = make_offer(session, scene.bank, scene.branch)  # a counter-only reward type
    session.commit()
    before = _counts(session)
    with time_machine.travel(T0, tick=False):
        counter_only = redeem(client, scene.resident, parking)
    assert counter_only.status_code == 409
    assert counter_only.get_json()["reason"] == "counter_only"
    session.execute(sa.update(Offer).where(Offer.id == scene.offer.id).values(points_price=2001))
    session.commit()
    with time_machine.travel(T0, tick=False):
        too_dear = redeem(client, scene.resident, scene.offer)
    assert too_dear.status_code == 409
    assert too_dear.get_json()["reason"] == "insufficient_points"
    assert _counts(session) == before
    assert ledger.balance(session, scene.resident.id) == 2000
    gone = client.post(
        "/api/v1/wallet/offers/999999/redemptions", headers=api_headers(client, scene.resident)
    )
    assert gone.status_code == 404


def test_exactly_the_balance_is_enough(client, session, scene) -> None:
    session.execute(sa.update(Offer).where(Offer.id == scene.offer.id).values(points_price=2000))
    session.commit()
    with time_machine.travel(T0, tick=False):
        assert redeem(client, scene.resident, scene.offer).status_code == 201
    assert ledger.balance(session, scene.resident.id) == 0


def test_settlement_shows_what_the_bank_funded(client, session, scene) -> None:
    with time_machine.travel(T0, tick=False):
        redeemed = redeem(client, scene.resident, scene.offer).get_json()
        statement = client.get(
            "/api/v1/merchant/settlement", headers=api_headers(client, scene.manager)
        ).get_json()
        bureau = client.get(
            "/api/v1/bureau/settlement", headers=api_headers(client, _admin(session))
        ).get_json()
    assert (statement["funded_fen"], statement["amount_yuan"], statement["points"]) == (
        1000, "0.00", 800,
    )  # fmt: skip
    assert statement["lines"][0]["funded_fen"] == 1000
    assert statement["lines"][0]["amount_yuan"] == "0.00"
    [row] = [r for r in bureau if r["merchant_id"] == scene.bank.id]
    assert (row["funded_fen"], row["amount_yuan"]) == (1000, "0.00")
    with time_machine.travel(T0, tick=False):
        client.post(
            f"/api/v1/merchant/redemptions/{redeemed['id']}/reversal",
            json={"reason": "客户取消"}, headers=api_headers(client, scene.manager),
        )  # fmt: skip
        after = client.get(
            "/api/v1/merchant/settlement", headers=api_headers(client, scene.manager)
        ).get_json()
    assert (after["funded_fen"], after["reversed"]) == (0, 1)
    assert session.get(Redemption, redeemed["id"]).status == RedemptionStatus.REVERSED


def _admin(session):
    return make_user(session, Role.BUREAU_ADMIN)


def test_a_counter_redemption_is_announced_too(app, client, session) -> None:
    merchant, store = make_merchant(session)
    offer = make_offer(session, merchant, store)
    manager = make_staff(session, merchant)
    from app.accounts.roles import Role
    from tests.factories import make_user

    resident = make_user(session, Role.RESIDENT)
    give_points(session, resident, 1000)
    session.commit()
    register_endpoint(client, manager, "https://parking.example/hooks")
    with time_machine.travel(T0, tick=False):
        token = issue(app, session, resident, offer, now=T0)
        session.commit()
        confirmed = client.post(
            "/api/v1/merchant/redemptions", json={"token": token.signed},
            headers=api_headers(client, manager),
        )  # fmt: skip
    assert confirmed.status_code == 201, confirmed.get_json()
    [event] = session.scalars(sa.select(WebhookEvent)).all()
    assert event.payload["data"]["store_id"] == store.id
    assert event.payload["data"]["funded_fen"] is None


def test_the_pages_redeem_and_show_the_webhooks(app, client, session, scene) -> None:
    with time_machine.travel(T0, tick=False):
        log_in(client, scene.resident)
        page = client.get(f"/offers/{scene.offer.id}").get_data(as_text=True)
        assert 'id="redeem-offer"' in page and 'id="use-offer"' not in page
        token = csrf_token_from(client, f"/offers/{scene.offer.id}")
        done = client.post(f"/offers/{scene.offer.id}/redeem", data={"csrf_token": token})
        assert done.status_code == 302 and done.headers["Location"].endswith("/vouchers")
        assert scene.offer.title in client.get("/vouchers").get_data(as_text=True)
        again = client.post(f"/offers/{scene.offer.id}/redeem", data={"csrf_token": token})
    assert again.status_code == 409
    assert "已兑完" in again.get_data(as_text=True) or "run out" in again.get_data(as_text=True)
    assert ledger.balance(session, scene.resident.id) == 1200

    log_in(client, scene.manager)  # at the real time again
    token = csrf_token_from(client, "/merchant/webhooks")
    bad = client.post(
        "/merchant/webhooks",
        data={"csrf_token": token, "url": "ftp://x", "event_types": ["voucher.used"]},
    )
    assert bad.status_code == 422 and "https://" in bad.get_data(as_text=True)
    added = client.post(
        "/merchant/webhooks",
        data={"csrf_token": token, "url": "https://bank.example/h",
              "event_types": ["redemption.confirmed"]},
    )  # fmt: skip
    html = added.get_data(as_text=True)
    assert added.status_code == 201 and 'id="webhook-secret"' in html and "whsec_" in html
    assert added.headers["Cache-Control"] == "no-store"
    listing = client.get("/merchant/webhooks").get_data(as_text=True)
    assert "https://bank.example/h" in listing and "whsec_" not in listing


def test_a_voucher_is_used_once_and_the_bank_is_told(client, session, scene) -> None:
    register_endpoint(client, scene.manager, "https://bank.example/h", ["voucher.used"])
    with time_machine.travel(T0, tick=False):
        redeemed = redeem(client, scene.resident, scene.offer).get_json()
    code, number = redeemed["fulfilment"]["code"], redeemed["id"]
    headers = api_headers(client, scene.cashier)
    url = "/api/v1/merchant/vouchers/use"
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        refused = client.post(url, json={"redemption_id": number, "code": wrong}, headers=headers)
        assert refused.status_code == 422 and refused.get_json()["reason"] == "invalid_voucher_code"
        used = client.post(
            url, json={"redemption_id": number, "code": code.lower()}, headers=headers
        )
        again = client.post(url, json={"redemption_id": number, "code": code}, headers=headers)
        vouchers = client.get("/api/v1/me/vouchers", headers=api_headers(client, scene.resident))
    assert used.status_code == 200
    assert used.get_json()["voucher_used_at"] == (T0 + timedelta(days=1)).isoformat()
    assert again.status_code == 409 and again.get_json()["reason"] == "voucher_already_used"
    assert vouchers.get_json()["items"][0]["state"] == "used"
    session.expire_all()
    [event] = session.scalars(sa.select(WebhookEvent)).all()
    assert event.event_id == f"voucher.used.{number}"
    assert event.payload["data"]["voucher_code"] == code
    other = make_bank_scene(session)
    elsewhere = client.post(
        url, json={"redemption_id": number, "code": code},
        headers=api_headers(client, other.manager),
    )  # fmt: skip
    assert elsewhere.status_code == 404


def test_a_voucher_is_usable_until_its_last_instant(client, session, scene) -> None:
    with time_machine.travel(T0, tick=False):
        redeemed = redeem(client, scene.resident, scene.offer).get_json()
    body = {"redemption_id": redeemed["id"], "code": redeemed["fulfilment"]["code"]}
    until = datetime.fromisoformat(redeemed["fulfilment"]["valid_until"])
    assert until == T0 + timedelta(days=90)
    with time_machine.travel(until, tick=False):
        expired = client.post(
            "/api/v1/merchant/vouchers/use", json=body, headers=api_headers(client, scene.manager)
        )
    assert expired.status_code == 409 and expired.get_json()["reason"] == "voucher_expired"
    with time_machine.travel(until - timedelta(seconds=1), tick=False):
        used = client.post(
            "/api/v1/merchant/vouchers/use", json=body, headers=api_headers(client, scene.manager)
        )
    assert used.status_code == 200


def test_a_reversed_redemptions_voucher_cannot_be_used(client, session, scene) -> None:
    headers = api_headers(client, scene.manager)
    with time_machine.travel(T0, tick=False):
        redeemed = redeem(client, scene.resident, scene.offer).get_json()
        client.post(
            f"/api/v1/merchant/redemptions/{redeemed['id']}/reversal",
            json={"reason": "客户取消"}, headers=headers,
        )  # fmt: skip
        refused = client.post(
            "/api/v1/merchant/vouchers/use",
            json={"redemption_id": redeemed["id"], "code": redeemed["fulfilment"]["code"]},
            headers=headers,
        )
    assert refused.status_code == 409 and refused.get_json()["reason"] == "voucher_reversed"
    session.expire_all()
    assert session.get(Redemption, redeemed["id"]).voucher_used_at is None
