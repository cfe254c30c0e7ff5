"""Typed 8-digit codes that match no QR code are rate-limited per staff account and per merchant.

Found codes and scanned QR codes never count; pages and the API share the counts.
"""

from __future__ import annotations

from tests.factories import csrf_token_from, log_in
from tests.merchants.support import api_headers, issue, make_staff


def preview(client, headers, token: str):
    return client.post(
        "/api/v1/merchant/redemptions/preview", json={"token": token}, headers=headers
    )


def wrong_codes(app, session, scene) -> list[str]:
    """Eight-digit codes that name no live token."""
    live = issue(app, session, scene.resident, scene.offer).code
    return [f"{n:08d}" for n in range(10_000_000, 10_000_020) if f"{n:08d}" != live]


def test_ten_wrong_codes_lock_the_staff_account_out_of_typing(app, client, session, scene):
    headers = api_headers(client, scene.cashier)
    codes = wrong_codes(app, session, scene)
    for code in codes[:10]:
        response = preview(client, headers, code)
        assert response.status_code == 422 and response.get_json()["reason"] == "invalid_token"
    blocked = preview(client, headers, codes[10])
    assert blocked.status_code == 429
    body = blocked.get_json()
    assert body["reason"] == "too_many_requests" and body["code"] == 429
    assert "输入的数字码多次未匹配到二维码" in body["message"]
    # A right code is refused too while the account is locked out of typing...
    issued = issue(app, session, scene.resident, scene.offer)
    assert preview(client, headers, issued.code).status_code == 429
    confirmed = client.post(
        "/api/v1/merchant/redemptions", json={"token": issued.code}, headers=headers
    )
    assert confirmed.status_code == 429
    # ...but the QR code's signed string is never limited.
    assert preview(client, headers, issued.signed).status_code == 200
    # Another cashier of the merchant still types codes.
    colleague = api_headers(client, make_staff(session, scene.merchant, "cashier"))
    assert preview(client, colleague, issued.code).status_code == 200


def test_found_codes_do_not_count(app, client, session, scene):
    headers = api_headers(client, scene.cashier)
    issued = issue(app, session, scene.resident, scene.offer)
    for _ in range(15):
        assert preview(client, headers, issued.code).status_code == 200
    assert preview(client, headers, "00000000").status_code in {422, 409}


def test_a_used_code_counts_as_a_failed_lookup(app, client, session, scene):
    app.config["TYPED_CODE_LIMIT_PER_STAFF"] = "2 per 10 minutes"
    headers = api_headers(client, scene.cashier)
    issued = issue(app, session, scene.resident, scene.offer)
    url = "/api/v1/merchant/redemptions"
    assert client.post(url, json={"token": issued.code}, headers=headers).status_code == 201
    for _ in range(2):
        replay = client.post(url, json={"token": issued.code}, headers=headers)
        assert replay.get_json()["reason"] == "token_used"
    assert client.post(url, json={"token": issued.code}, headers=headers).status_code == 429


def test_the_merchant_as_a_whole_is_limited(app, client, session, scene):
    app.config["TYPED_CODE_LIMIT_PER_MERCHANT"] = "4 per 10 minutes"
    codes = iter(wrong_codes(app, session, scene))
    staff = [api_headers(client, make_staff(session, scene.merchant, "cashier")) for _ in range(2)]
    for headers in staff:
        for _ in range(2):
            assert preview(client, headers, next(codes)).status_code == 422
    for headers in (*staff, api_headers(client, scene.manager)):
        assert preview(client, headers, next(codes)).status_code == 429


def test_the_scan_page_says_so_and_shares_the_count(app, client, session, scene):
    headers = api_headers(app.test_client(), scene.cashier)
    codes = iter(wrong_codes(app, session, scene))
    for _ in range(9):
        preview(app.test_client(), headers, next(codes))
    log_in(client, scene.cashier)
    csrf = csrf_token_from(client, "/merchant/scan")
    last = client.post("/merchant/scan", data={"csrf_token": csrf, "token": next(codes)})
    assert last.status_code == 422
    blocked = client.post("/merchant/scan", data={"csrf_token": csrf, "token": next(codes)})
    assert blocked.status_code == 429
    assert "请等待几分钟，或用摄像头扫描居民的二维码" in blocked.get_data(as_text=True)
    confirm = client.post("/merchant/scan/confirm", data={"csrf_token": csrf, "token": next(codes)})
    assert confirm.status_code == 429


def test_another_merchants_code_counts_too(app, client, session, scene):
    """A typed code of another merchant's offer (``wrong_merchant``) is a refusal like any other:
    it counts, exactly to the limit, and the next typed code is refused (#24)."""
    from tests.merchants.support import make_merchant, make_offer

    app.config["TYPED_CODE_LIMIT_PER_STAFF"] = "2 per 10 minutes"
    other, other_store = make_merchant(session, name="另一家商户")
    other_offer = make_offer(session, other, other_store, stock=10)
    headers = api_headers(client, scene.cashier)
    for _ in range(2):
        code = issue(app, session, scene.resident, other_offer).code
        refused = preview(client, headers, code)
        assert refused.status_code == 403 and refused.get_json()["reason"] == "wrong_merchant"
    own = issue(app, session, scene.resident, scene.offer)
    blocked = preview(client, headers, own.code)
    assert blocked.status_code == 429 and blocked.get_json()["reason"] == "too_many_requests"
    assert preview(client, headers, own.signed).status_code == 200  # scanning still works
