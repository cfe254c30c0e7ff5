"""The counter's pages: scan or type a code, see the preview, confirm; every refusal on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.merchants.models import MerchantStatus
from tests.factories import csrf_token_from, log_in
from tests.merchants.support import (
    balance,
    give_points,
    issue,
    make_merchant,
    make_offer,
    token_row,
)


@pytest.fixture
def counter(app, scene):
    client = app.test_client()
    log_in(client, scene.cashier)
    return client


def preview(counter, token: str):
    csrf = csrf_token_from(counter, "/merchant/scan")
    return counter.post("/merchant/scan", data={"csrf_token": csrf, "token": token})


def confirm(counter, token: str):
    csrf = csrf_token_from(counter, "/merchant/scan")
    return counter.post("/merchant/scan/confirm", data={"csrf_token": csrf, "token": token})


def test_scan_page_offers_camera_and_manual_entry(counter):
    page = counter.get("/merchant/scan").get_data(as_text=True)
    assert 'id="scan-video"' in page and "vendor/jsqr/jsQR.js" in page
    assert "js/scan.js" in page and "<script>" not in page  # no inline script under the CSP
    assert "输入居民二维码下方的 8 位数字" in page
    # The field says what to type; the page checks it as the cashier types (js/code-check.js).
    assert '<label for="token">兑换码（8 位数字）</label>' in page
    assert 'inputmode="numeric"' in page and 'aria-describedby="token-hint token-check"' in page
    assert 'data-count="已输入 {typed} 位，共 8 位"' in page and "js/code-check.js" in page
    assert "核验兑换码" in page and "券码" not in page


def test_preview_then_confirm(app, session, scene, counter):
    issued = issue(app, session, scene.resident, scene.offer)
    shown = preview(counter, issued.code)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "张*绿" in html and "500" in html and "停车减免 60 分钟" in html
    done = confirm(counter, issued.code)
    assert done.status_code == 200
    assert "兑换成功" in done.get_data(as_text=True)
    assert balance(session, scene.resident) == 1500


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("used", 409, "此二维码已被使用"),
        ("expired", 410, "此二维码已过期"),
        ("forged", 422, "这不是有效的兑换码"),
        ("truncated", 422, "这不是有效的兑换码"),
        ("other_merchant", 403, "属于其他商户的权益"),
        ("too_few_points", 409, "积分不足"),
        ("no_stock", 409, "此权益已兑完"),
        ("daily_limit", 422, "每人每天限兑 1 次"),
        ("suspended", 403, "该商户已被暂停"),
    ],
)
def test_every_refusal_is_told_on_the_page(app, session, scene, counter, case, status, message):
    token = _token_for(app, session, scene, counter, case)
    before = balance(session, scene.resident)
    for send in (preview, confirm):
        response = send(counter, token)
        html = response.get_data(as_text=True)
        assert response.status_code == status, (send.__name__, html)
        assert message in html, send.__name__
        assert 'class="field-error"' in html
    assert balance(session, scene.resident) == before


def _token_for(app, session, scene, counter, case: str) -> str:
    """A token (or a string) that the counter must refuse for ``case``."""
    if case == "other_merchant":
        other, store = make_merchant(session, name="别家商户")
        return issue(app, session, scene.resident, make_offer(session, other, store)).signed
    if case == "too_few_points":
        resident = scene.resident
        pricey = make_offer(session, scene.merchant, scene.store, points_price=1500)
        token = issue(app, session, resident, scene.offer).signed
        spend = issue(app, session, resident, pricey)
        assert confirm(counter, spend.signed).status_code == 200  # 500 points left
        scene.offer.points_price = 600
        session.flush()
        return token
    if case == "no_stock":
        token = issue(app, session, scene.resident, scene.offer).signed
        scene.offer.stock = 0
        session.flush()
        return token
    if case == "daily_limit":
        scene.offer.daily_limit = 1
        session.flush()
        first, second = (issue(app, session, scene.resident, scene.offer) for _ in range(2))
        assert confirm(counter, first.signed).status_code == 200
        return second.signed
    if case == "expired":
        # Issued 61 s ago by server time (the API tests freeze the clock at 59 and 61 s).
        long_ago = datetime.now(UTC) - timedelta(seconds=61)
        return issue(app, session, scene.resident, scene.offer, now=long_ago).signed
    issued = issue(app, session, scene.resident, scene.offer)
    if case == "used":
        assert confirm(counter, issued.signed).status_code == 200
    if case == "forged":
        return issued.signed[:-2] + ("AB" if not issued.signed.endswith("AB") else "CD")
    if case == "truncated":
        return issued.signed[:12]
    if case == "suspended":
        scene.merchant.status = MerchantStatus.SUSPENDED
        session.flush()
    return issued.signed


def test_a_refused_confirmation_burns_the_token(app, session, scene, counter):
    issued = issue(app, session, scene.resident, scene.offer)
    scene.offer.stock = 0
    session.flush()
    assert confirm(counter, issued.signed).status_code == 409
    scene.offer.stock = 5
    session.flush()
    again = confirm(counter, issued.signed)
    assert again.status_code == 409
    assert "已被使用" in again.get_data(as_text=True)
    assert token_row(session, issued.id).outcome == "out_of_stock"


def test_the_residents_qr_page_and_its_status(app, client, session, scene):
    log_in(client, scene.resident)
    page = client.get(f"/offers/{scene.offer.id}/qr")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "js/qr.js" in html and "<script>" not in html
    assert 'id="qr-balance">2,000<' in html


def test_the_qr_page_says_when_points_are_too_few(app, client, session, scene):
    poor = make_offer(session, scene.merchant, scene.store, points_price=9000)
    log_in(client, scene.resident)
    page = client.get(f"/offers/{poor.id}/qr")
    assert page.status_code == 409
    assert "积分不足" in page.get_data(as_text=True)


def test_managers_reverse_on_the_redemptions_page(app, session, scene, counter):
    issued = issue(app, session, scene.resident, scene.offer)
    confirm(counter, issued.signed)
    cashier_page = counter.get("/merchant/redemptions").get_data(as_text=True)
    assert "60 分钟免费停车" in cashier_page and 'name="reason"' not in cashier_page
    manager = app.test_client()
    log_in(manager, scene.manager)
    page = manager.get("/merchant/redemptions").get_data(as_text=True)
    assert 'name="reason"' in page
    assert 'data-confirm="确定撤销这笔兑换？' in page  # reversing asks first
    assert '<li class="card redemption-row">' in page  # a card per redemption, phone first
    csrf = csrf_token_from(manager, "/merchant/redemptions")
    response = manager.post(
        f"/merchant/redemptions/{issued.id}/reverse", data={"csrf_token": csrf, "reason": "误扫"}
    )
    assert response.status_code == 302
    assert balance(session, scene.resident) == 2000
    csrf = csrf_token_from(counter, "/merchant/redemptions")
    refused = counter.post(
        f"/merchant/redemptions/{issued.id}/reverse", data={"csrf_token": csrf, "reason": "x"}
    )
    assert refused.status_code == 403
    assert "只有商户店长" in refused.get_data(as_text=True)


def test_an_organisation_with_points_sees_its_balance_on_the_offer(app, client, session, scene):
    from app.accounts.roles import Role
    from tests.factories import make_user

    org = make_user(session, Role.ORGANISATION)
    give_points(session, org, 700)
    log_in(client, org)
    assert "700" in client.get(f"/offers/{scene.offer.id}").get_data(as_text=True)
