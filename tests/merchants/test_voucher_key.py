"""The voucher key page: a merchant's managers see the key their systems check codes with
(audited), how to check a code with a worked example, and rotate the key (audited)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.merchants.models import Merchant
from app.redemption import voucher_keys
from app.redemption.models import Redemption
from rewards import derive_code, verify_code
from tests.factories import csrf_token_from, log_in
from tests.merchants.support import api_headers, issue, make_merchant, make_staff


def audit_actions(session, merchant: Merchant) -> list[str]:
    return list(
        session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.object_type == "merchant", AuditEntry.object_id == str(merchant.id))
            .order_by(AuditEntry.id)
        )
    )


def key_of(session, merchant: Merchant) -> tuple[str, str | None]:
    session.expire_all()
    fresh = session.get(Merchant, merchant.id)
    return fresh.voucher_key, fresh.previous_voucher_key


def reveal(client):
    token = csrf_token_from(client, "/merchant/voucher-key")
    return client.post("/merchant/voucher-key/reveal", data={"csrf_token": token})


def rotate(client, confirm: bool = True):
    token = csrf_token_from(client, "/merchant/voucher-key")
    data = {"csrf_token": token} | ({"confirm": "y"} if confirm else {})
    return client.post("/merchant/voucher-key/rotate", data=data, follow_redirects=True)


def redeem(app, client, session, scene) -> Redemption:
    issued = issue(app, session, scene.resident, scene.offer)
    headers = api_headers(app.test_client(), scene.cashier)
    done = app.test_client().post(
        "/api/v1/merchant/redemptions", json={"token": issued.code}, headers=headers
    )
    assert done.status_code == 201, done.get_json()
    session.expire_all()
    return session.get(Redemption, issued.id)


def test_the_page_explains_and_shows_the_key_only_on_request(client, session, scene):
    key, _previous = key_of(session, scene.merchant)
    log_in(client, scene.manager)
    page = client.get("/merchant/voucher-key").get_data(as_text=True)
    assert "如何核验券码" in page and "tanpuhui-voucher-v1|" in page
    # Spoken to the car-park operator first; the scheme for their supplier folded away.
    assert page.index("需要设置什么") < page.index('<details class="technical">')
    assert page.index('<details class="technical">') < page.index("HMAC-SHA256")
    assert "显示密钥后，这里会给出用它生成的测试券码。" in page
    assert f"权益编号 {scene.offer.id} · 60 分钟免费停车 · <code>parking_discount</code>" in page
    assert key not in page
    assert audit_actions(session, scene.merchant) == []

    shown = reveal(client)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert f'id="voucher-key">{key}<' in html
    assert audit_actions(session, scene.merchant) == ["merchant.voucher_key_reveal"]
    assert "tanpuhui-voucher-v1|parking_discount|1042|7" in html  # no redemption yet: a sample
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action.like("%voucher%")))
    assert key not in str(entry.summary)


def test_the_worked_example_is_a_real_voucher(app, client, session, scene):
    redemption = redeem(app, client, session, scene)
    key, _previous = key_of(session, scene.merchant)
    log_in(client, scene.manager)
    html = reveal(client).get_data(as_text=True)
    example = re.search(r'id="voucher-example-code">([0-9A-Z-]+)<', html).group(1)
    assert example == redemption.fulfilment["code"]
    assert f"tanpuhui-voucher-v1|parking_discount|{redemption.id}|{scene.offer.id}" in html
    assert verify_code(
        bytes.fromhex(key), example, type_code="parking_discount",
        redemption_id=redemption.id, offer_id=scene.offer.id,
    )  # fmt: skip


def test_the_reference_check_on_the_page_agrees_with_the_platform(session, scene):
    namespace: dict[str, object] = {}
    exec(voucher_keys.REFERENCE_CHECK, namespace)  # the page's own text, run as it reads
    key = "ab" * 32
    for type_code, redemption_id, offer_id in [("parking_discount", 1042, 7), ("coupon", 1, 99)]:
        expected = derive_code(
            bytes.fromhex(key), type_code=type_code, redemption_id=redemption_id,
            offer_id=offer_id,
        )  # fmt: skip
        assert namespace["voucher_code"](key, type_code, redemption_id, offer_id) == expected
        typed = expected.lower().replace("-", " ")
        assert namespace["matches"](key, typed, type_code, redemption_id, offer_id)
        assert not namespace["matches"](key, typed, type_code, redemption_id + 1, offer_id)


def test_only_the_merchants_managers_see_it(app, session, scene):
    cashier = app.test_client()
    log_in(cashier, scene.cashier)
    assert cashier.get("/merchant/voucher-key").status_code == 403
    token = csrf_token_from(cashier, "/merchant/scan")
    refused = cashier.post("/merchant/voucher-key/reveal", data={"csrf_token": token})
    assert refused.status_code == 403
    other, _store = make_merchant(session, name="别家商户")
    stranger = app.test_client()
    log_in(stranger, make_staff(session, other))
    html = reveal(stranger).get_data(as_text=True)
    ours, _previous = key_of(session, scene.merchant)
    theirs, _previous = key_of(session, other)
    assert theirs in html and ours not in html
    assert audit_actions(session, scene.merchant) == []


def test_rotation_keeps_the_previous_key_for_vouchers_already_issued(app, client, session, scene):
    before = redeem(app, client, session, scene)
    old_key, _previous = key_of(session, scene.merchant)
    log_in(client, scene.manager)
    refused = rotate(client, confirm=False)
    assert "请勾选确认" in refused.get_data(as_text=True)
    assert key_of(session, scene.merchant) == (old_key, None)

    done = rotate(client)
    assert "已生成新密钥" in done.get_data(as_text=True)
    new_key, previous = key_of(session, scene.merchant)
    assert new_key != old_key and previous == old_key
    after = redeem(app, client, session, scene)

    def checks(key: str, redemption: Redemption) -> bool:
        return verify_code(
            bytes.fromhex(key), redemption.fulfilment["code"], type_code="parking_discount",
            redemption_id=redemption.id, offer_id=redemption.offer_id,
        )  # fmt: skip

    assert checks(old_key, before) and not checks(new_key, before)
    assert checks(new_key, after) and not checks(old_key, after)
    html = reveal(client).get_data(as_text=True)
    assert new_key in html and f'id="previous-voucher-key">{old_key}<' in html
    assert audit_actions(session, scene.merchant) == [
        "merchant.voucher_key_rotate",
        "merchant.voucher_key_reveal",
    ]
    # A second rotation forgets the oldest key.
    rotate(client)
    newest, previous = key_of(session, scene.merchant)
    assert previous == new_key and old_key not in (newest, previous)


def test_vouchers_show_the_numbers_a_check_needs(app, client, session, scene):
    log_in(client, scene.resident)
    qr_page = client.get(f"/offers/{scene.offer.id}/qr").get_data(as_text=True)
    assert 'data-voucher-numbers="兑换编号 {redemption} · 权益编号 {offer}"' in qr_page
    counter = app.test_client()
    log_in(counter, scene.cashier)
    issued = issue(app, session, scene.resident, scene.offer)
    token = csrf_token_from(counter, "/merchant/scan")
    data = {"csrf_token": token, "token": issued.code}
    result = counter.post("/merchant/scan/confirm", data=data)
    html = result.get_data(as_text=True)
    assert f"<dt>兑换编号</dt><dd>{issued.id}</dd>" in html
    assert f"<dt>权益编号</dt><dd>{scene.offer.id}</dd>" in html


def test_managers_reveal_and_rotate_the_key_through_the_api(app, session, scene):
    client = app.test_client()
    manager = api_headers(client, scene.manager)
    key, previous = key_of(session, scene.merchant)
    assert previous is None
    shown = client.post("/api/v1/merchant/voucher-key/reveal", headers=manager)
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert shown.get_json() == {"key": key, "previous_key": None, "rotated_at": None}
    assert audit_actions(session, scene.merchant) == ["merchant.voucher_key_reveal"]
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action.like("%voucher%")))
    assert entry.actor_id == scene.manager.id and entry.summary == {"previous_shown": False}

    url = "/api/v1/merchant/voucher-key/rotate"
    unconfirmed = client.post(url, json={}, headers=manager)
    assert unconfirmed.status_code == 422
    body = unconfirmed.get_json()
    assert body["reason"] == "confirmation_required" and list(body["errors"]) == ["confirm"]
    assert client.post(url, json={"confirm": False}, headers=manager).status_code == 422
    assert key_of(session, scene.merchant) == (key, None)

    rotated = client.post(url, json={"confirm": True}, headers=manager)
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    new_key, kept = key_of(session, scene.merchant)
    assert new_key != key and kept == key
    assert rotated.get_json()["key"] == new_key and rotated.get_json()["previous_key"] == key
    assert rotated.get_json()["rotated_at"] is not None
    assert audit_actions(session, scene.merchant) == [
        "merchant.voucher_key_reveal",
        "merchant.voucher_key_rotate",
    ]
    again = client.post("/api/v1/merchant/voucher-key/reveal", headers=manager).get_json()
    assert again["key"] == new_key and again["previous_key"] == key
    assert again["rotated_at"] == rotated.get_json()["rotated_at"]
    assert all(key not in str(entry) for entry in session.scalars(sa.select(AuditEntry.summary)))


def test_cashiers_and_other_merchants_get_no_key_through_the_api(app, session, scene):
    client = app.test_client()
    cashier = api_headers(client, scene.cashier)
    for action, body in [("reveal", None), ("rotate", {"confirm": True})]:
        refused = client.post(f"/api/v1/merchant/voucher-key/{action}", json=body, headers=cashier)
        assert refused.status_code == 403 and refused.get_json()["reason"] == "manager_only"
    other, _store = make_merchant(session, name="别家商户")
    stranger = api_headers(client, make_staff(session, other))
    theirs = client.post("/api/v1/merchant/voucher-key/reveal", headers=stranger).get_json()
    ours, _previous = key_of(session, scene.merchant)
    assert theirs["key"] == key_of(session, other)[0] != ours
    client.post("/api/v1/merchant/voucher-key/rotate", json={"confirm": True}, headers=stranger)
    assert key_of(session, scene.merchant) == (ours, None)
    assert audit_actions(session, scene.merchant) == []
