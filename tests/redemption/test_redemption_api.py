"""Redemption through the JSON API: a QR token is issued, previewed, confirmed once, reversed.

Every refusal leaves the points and the stock as they were, says why in the one error body, and
(once a real token was named) burns the token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from app.audit.models import AuditEntry
from app.ledger.models import Transaction
from app.merchants.models import MerchantStatus
from app.redemption.models import Redemption, RedemptionStatus
from tests.factories import log_in
from tests.merchants.support import (
    api_headers,
    balance,
    give_points,
    issue,
    make_merchant,
    make_offer,
    make_staff,
    offer_stock,
    token_row,
)

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Yinchuan


def confirm(client, headers, token: str):
    return client.post("/api/v1/merchant/redemptions", json={"token": token}, headers=headers)


def test_resident_token_preview_and_confirm(app, client, session, scene):
    log_in(client, scene.resident)
    app.config["WTF_CSRF_ENABLED"] = False  # the cookie call's CSRF check has its own test
    issued = client.post(f"/api/v1/wallet/offers/{scene.offer.id}/tokens")
    assert issued.status_code == 201, issued.get_json()
    body = issued.get_json()
    assert body["token"].startswith("TPH1:")
    assert len(body["code"]) == 8 and body["code"].isdigit()
    assert 58 <= body["expires_in"] <= 60
    assert body["svg"].startswith("<svg")

    counter = app.test_client()  # the cashier's phone: a client of its own
    staff = api_headers(counter, scene.cashier)
    preview = counter.post(
        "/api/v1/merchant/redemptions/preview", json={"token": body["token"]}, headers=staff
    )
    assert preview.status_code == 200
    assert preview.get_json()["points"] == 500
    assert preview.get_json()["holder_name"] == "张*绿"
    assert token_row(session, body["token_id"]).burned_at is None  # previewing spends nothing

    done = confirm(counter, staff, body["token"])
    assert done.status_code == 201, done.get_json()
    redemption = done.get_json()["redemption"]
    assert redemption["points"] == 500
    assert redemption["fulfilment"]["code"]
    assert balance(session, scene.resident) == 1500
    assert offer_stock(session, scene.offer) == 9
    row = session.get(Redemption, redemption["id"])
    assert row.status == RedemptionStatus.COMPLETED
    transaction = session.get(Transaction, row.ledger_transaction_id)
    assert transaction.reference_type == "redemption" and transaction.reference_id == row.id

    status = client.get(
        f"/api/v1/wallet/offers/{scene.offer.id}/redemption-status",
        query_string={"since": body["token_id"]},
    ).get_json()
    assert status["state"] == "redeemed"
    assert status["balance"] == 1500
    assert status["redemption"]["fulfilment"]["code"] == redemption["fulfilment"]["code"]


def test_the_short_code_works_like_the_qr(app, client, session, scene):
    issued = issue(app, session, scene.resident, scene.offer)
    done = confirm(
        client, api_headers(client, scene.cashier), issued.code[:4] + " " + issued.code[4:]
    )
    assert done.status_code == 201, done.get_json()


def test_a_replayed_token_is_refused_logged_and_shown_to_the_resident(app, client, session, scene):
    issued = issue(app, session, scene.resident, scene.offer)
    staff = api_headers(client, scene.cashier)
    assert confirm(client, staff, issued.signed).status_code == 201
    again = confirm(client, staff, issued.signed)
    assert again.status_code == 409
    assert again.get_json()["reason"] == "token_used"
    by_code = confirm(client, staff, issued.code)
    assert by_code.get_json()["reason"] == "token_used"
    assert balance(session, scene.resident) == 1500  # debited once
    assert token_row(session, issued.id).replays == 2

    phone = app.test_client()
    log_in(phone, scene.resident)
    status = phone.get(
        f"/api/v1/wallet/offers/{scene.offer.id}/redemption-status",
        query_string={"since": issued.id},
    ).get_json()
    assert status["state"] == "redeemed"
    assert status["replays"] == 2


def test_frozen_clock_accepts_at_59_seconds_and_refuses_at_61(app, client, session, scene):
    first = issue(app, session, scene.resident, scene.offer, now=NOW)
    second = issue(app, session, scene.resident, scene.offer, now=NOW)
    staff = api_headers(client, scene.cashier)
    with time_machine.travel(NOW + timedelta(seconds=59), tick=False):
        assert confirm(client, staff, first.signed).status_code == 201
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        late = confirm(client, staff, second.signed)
    assert late.status_code == 410
    assert late.get_json()["reason"] == "token_expired"
    assert token_row(session, second.id).burned_at is not None  # refused, and burned all the same
    assert token_row(session, second.id).outcome == "token_expired"
    assert balance(session, scene.resident) == 1500


def _refused(client, session, scene, token: str, reason: str, status: int, *, headers=None):
    def counts() -> tuple[int, int | None, int]:
        redemptions = session.scalar(sa.select(sa.func.count()).select_from(Redemption))
        return balance(session, scene.resident), offer_stock(session, scene.offer), redemptions

    before = counts()
    response = confirm(client, headers or api_headers(client, scene.cashier), token)
    body = response.get_json()
    assert response.status_code == status, body
    assert body["reason"] == reason
    assert body["message"]
    assert counts() == before  # nothing debited, no stock taken, no redemption
    return body


def test_forged_truncated_and_unknown_tokens_are_refused_without_burning(
    app, client, session, scene
):
    issued = issue(app, session, scene.resident, scene.offer)
    forged = issued.signed[:-1] + ("A" if issued.signed[-1] != "A" else "B")
    for bad in (forged, issued.signed[:-3], "TPH1:99999:AAAAAAAAAAAAAAAA", "hello", "1234567"):
        _refused(client, session, scene, bad, "invalid_token", 422)
    other_id = issued.signed.replace(f":{issued.id}:", f":{issued.id + 1}:")
    _refused(client, session, scene, other_id, "invalid_token", 422)
    assert token_row(session, issued.id).burned_at is None
    assert confirm(client, api_headers(client, scene.cashier), issued.signed).status_code == 201


def test_another_merchants_token_is_refused_and_burned(app, client, session, scene):
    other, store = make_merchant(session, name="星光便利店")
    their_offer = make_offer(session, other, store, title="满 50 减 5", reward_type="coupon",
                             config={"amount_off_fen": 500, "valid_days": 30})  # fmt: skip
    issued = issue(app, session, scene.resident, their_offer)
    _refused(client, session, scene, issued.signed, "wrong_merchant", 403)
    assert token_row(session, issued.id).outcome == "wrong_merchant"


def test_too_few_points(app, client, session, scene):
    issued = issue(app, session, scene.resident, scene.offer)
    expensive = make_offer(session, scene.merchant, scene.store, points_price=1800)
    big = issue(app, session, scene.resident, expensive)
    staff = api_headers(client, scene.cashier)
    assert confirm(client, staff, big.signed).status_code == 201  # 200 points left
    body = _refused(client, session, scene, issued.signed, "insufficient_points", 409)
    assert body["details"]["balance"] == 200


def test_no_stock_left(app, client, session, scene):
    scene.offer.stock = 1
    session.flush()
    first = issue(app, session, scene.resident, scene.offer)
    second = issue(app, session, scene.resident, scene.offer)
    staff = api_headers(client, scene.cashier)
    assert confirm(client, staff, first.signed).status_code == 201
    response = confirm(client, staff, second.signed)
    assert response.status_code == 409
    assert response.get_json()["reason"] == "out_of_stock"
    assert balance(session, scene.resident) == 1500
    assert offer_stock(session, scene.offer) == 0


def test_daily_and_monthly_limits_count_in_the_city_time_zone(app, client, session, scene):
    scene.offer.daily_limit = 1
    scene.offer.monthly_limit = 2
    session.flush()
    staff = api_headers(client, scene.cashier)
    # 23:50 on 19 November in Yinchuan is 15:50 UTC.
    evening = datetime(2026, 11, 19, 15, 50, tzinfo=UTC)
    with time_machine.travel(evening, tick=False):
        tokens = [issue(app, session, scene.resident, scene.offer, now=evening) for _ in range(2)]
        assert confirm(client, staff, tokens[0].signed).status_code == 201
        same_day = confirm(client, staff, tokens[1].signed)
        assert same_day.status_code == 422
        assert same_day.get_json()["reason"] == "daily_limit_reached"
    next_morning = evening + timedelta(minutes=20)  # 00:10 on the 20th in Yinchuan
    with time_machine.travel(next_morning, tick=False):
        token = issue(app, session, scene.resident, scene.offer, now=next_morning)
        assert confirm(client, staff, token.signed).status_code == 201
    later = next_morning + timedelta(days=1)
    with time_machine.travel(later, tick=False):
        # Issuing already says no: the month's two are used.
        phone = app.test_client()
        log_in(phone, scene.resident)
        app.config["WTF_CSRF_ENABLED"] = False
        refused = phone.post(f"/api/v1/wallet/offers/{scene.offer.id}/tokens")
        assert refused.status_code == 422
        assert refused.get_json()["reason"] == "monthly_limit_reached"
    assert balance(session, scene.resident) == 1000


def test_monthly_limit_is_checked_again_at_the_counter(app, client, session, scene):
    scene.offer.monthly_limit = 1
    session.flush()
    first = issue(app, session, scene.resident, scene.offer)
    second = issue(app, session, scene.resident, scene.offer)  # issued before the first is used
    staff = api_headers(client, scene.cashier)
    assert confirm(client, staff, first.signed).status_code == 201
    response = confirm(client, staff, second.signed)
    assert response.get_json()["reason"] == "monthly_limit_reached"
    assert balance(session, scene.resident) == 1500
    assert offer_stock(session, scene.offer) == 9  # the refused one took none of the stock


def test_a_suspended_merchant_cannot_redeem(app, client, session, scene):
    issued = issue(app, session, scene.resident, scene.offer)
    scene.merchant.status = MerchantStatus.SUSPENDED
    session.flush()
    _refused(client, session, scene, issued.signed, "merchant_suspended", 403)
    assert token_row(session, issued.id).outcome == "merchant_suspended"


def test_reversal_by_a_manager_within_24_hours(app, client, session, scene):
    issued = issue(app, session, scene.resident, scene.offer, now=NOW)
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        done = confirm(client, api_headers(client, scene.cashier), issued.signed).get_json()
    redemption_id = done["redemption"]["id"]
    url = f"/api/v1/merchant/redemptions/{redemption_id}/reversal"
    with time_machine.travel(NOW + timedelta(hours=23), tick=False):
        cashier = client.post(
            url, json={"reason": "收银员想撤销"}, headers=api_headers(client, scene.cashier)
        )
        assert cashier.status_code == 403
        assert cashier.get_json()["reason"] == "manager_only"
        assert balance(session, scene.resident) == 1500
        manager = api_headers(client, scene.manager)
        reversed_ = client.post(url, json={"reason": "扫错了"}, headers=manager)
        assert reversed_.status_code == 200, reversed_.get_json()
        assert reversed_.get_json()["status"] == "reversed"
        twice = client.post(url, json={"reason": "再来一次"}, headers=manager)
        assert twice.status_code == 409
        assert twice.get_json()["reason"] == "already_reversed"
    assert balance(session, scene.resident) == 2000
    assert offer_stock(session, scene.offer) == 10
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "redemption.reverse"))
    assert entry.actor_id == scene.manager.id
    assert entry.summary["reason"] == "扫错了"


def test_no_reversal_after_24_hours(app, client, session, scene):
    issued = issue(app, session, scene.resident, scene.offer, now=NOW)
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        done = confirm(client, api_headers(client, scene.cashier), issued.signed).get_json()
    with time_machine.travel(NOW + timedelta(hours=24, seconds=6), tick=False):
        late = client.post(
            f"/api/v1/merchant/redemptions/{done['redemption']['id']}/reversal",
            json={"reason": "太晚了"},
            headers=api_headers(client, scene.manager),
        )
    assert late.status_code == 422
    assert late.get_json()["reason"] == "reversal_window_passed"
    assert balance(session, scene.resident) == 1500


def test_a_merchant_cannot_reverse_another_merchants_redemption(app, client, session, scene):
    issued = issue(app, session, scene.resident, scene.offer)
    done = confirm(client, api_headers(client, scene.cashier), issued.signed).get_json()
    other, _store = make_merchant(session, name="别家停车场")
    response = client.post(
        f"/api/v1/merchant/redemptions/{done['redemption']['id']}/reversal",
        json={"reason": "不是我的"},
        headers=api_headers(client, make_staff(session, other)),
    )
    assert response.status_code == 404


def test_issuing_refuses_too_few_points_up_front(app, client, session, scene):
    poor = make_offer(session, scene.merchant, scene.store, points_price=5000)
    log_in(client, scene.resident)
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post(f"/api/v1/wallet/offers/{poor.id}/tokens")
    assert response.status_code == 409
    assert response.get_json()["reason"] == "insufficient_points"
    assert response.get_json()["details"]["balance"] == 2000


def test_cookie_calls_need_the_csrf_token(client, session, scene):
    log_in(client, scene.resident)
    response = client.post(f"/api/v1/wallet/offers/{scene.offer.id}/tokens")
    assert response.status_code == 400
    assert response.get_json()["reason"] == "csrf_failed"


def test_a_holder_without_points_and_organisations_can_also_redeem(app, client, session, scene):
    from app.accounts.roles import Role
    from tests.factories import make_user

    org = make_user(session, Role.ORGANISATION)
    give_points(session, org, 600)
    issued = issue(app, session, org, scene.offer)
    assert confirm(client, api_headers(client, scene.cashier), issued.signed).status_code == 201
    assert balance(session, org) == 100
