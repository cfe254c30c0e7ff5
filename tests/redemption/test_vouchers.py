"""My vouchers: every voucher a resident received stays readable (code, what, where, until when,
whether it can still be used), on the page and in the API, and nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from tests.factories import log_in, make_user
from tests.merchants.support import api_headers, give_points, issue

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Yinchuan


def _redeem(app, client, session, scene, holder):
    token = issue(app, session, holder, scene.offer, now=NOW)
    session.commit()
    with time_machine.travel(NOW, tick=False):
        done = client.post(
            "/api/v1/merchant/redemptions",
            json={"token": token.signed},
            headers=api_headers(client, scene.cashier),
        )
    assert done.status_code == 201, done.get_json()
    return done.get_json()["redemption"]


def test_a_voucher_is_kept_with_its_code_until_it_expires(app, client, session, scene):
    first = _redeem(app, client, session, scene, scene.resident)
    second = _redeem(app, client, session, scene, scene.resident)
    headers = api_headers(client, scene.resident)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        page = client.get("/api/v1/me/vouchers", headers=headers).get_json()
    assert [v["redemption_id"] for v in page["items"]] == [second["id"], first["id"]]
    voucher = page["items"][1]
    assert voucher["code"] == first["fulfilment"]["code"] and voucher["state"] == "valid"
    assert voucher["offer_title"] == "60 分钟免费停车" and voucher["points"] == 500
    assert voucher["instructions"]["zh"] and voucher["valid_until"]
    until = datetime.fromisoformat(voucher["valid_until"])
    with time_machine.travel(until, tick=False):  # exactly at the end: no longer valid
        states = {
            v["state"]
            for v in client.get("/api/v1/me/vouchers", headers=headers).get_json()["items"]
        }
    assert states == {"expired"}
    with time_machine.travel(until - timedelta(seconds=1), tick=False):
        items = client.get("/api/v1/me/vouchers", headers=headers).get_json()["items"]
    assert {v["state"] for v in items} == {"valid"}


def test_the_page_shows_the_code_and_a_reversal(app, client, session, scene):
    first = _redeem(app, client, session, scene, scene.resident)
    manager = api_headers(client, scene.manager)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        reversed_ = client.post(
            f"/api/v1/merchant/redemptions/{first['id']}/reversal",
            json={"reason": "wrong car park"},
            headers=manager,
        )
    assert reversed_.status_code == 200, reversed_.get_json()
    log_in(client, scene.resident)
    html = client.get("/vouchers").get_data(as_text=True)
    assert first["fulfilment"]["code"] in html and "已撤销" in html
    assert f'id="r{first["id"]}"' in html


def test_nobody_sees_another_residents_vouchers(app, client, session, scene):
    mine = _redeem(app, client, session, scene, scene.resident)
    other = make_user(session, display_name="李四")
    give_points(session, other, 1000)
    session.commit()
    headers = api_headers(client, other)
    assert client.get("/api/v1/me/vouchers", headers=headers).get_json()["items"] == []
    log_in(client, other)
    assert mine["fulfilment"]["code"] not in client.get("/vouchers").get_data(as_text=True)


def test_pages_hold_the_limit_and_go_on(app, client, session, scene):
    made = [_redeem(app, client, session, scene, scene.resident)["id"] for _ in range(3)]
    headers = api_headers(client, scene.resident)
    first = client.get("/api/v1/me/vouchers?limit=2", headers=headers).get_json()
    assert [v["redemption_id"] for v in first["items"]] == made[::-1][:2]
    rest = client.get(
        "/api/v1/me/vouchers", query_string={"limit": 2, "cursor": first["next_cursor"]},
        headers=headers,
    ).get_json()  # fmt: skip
    assert [v["redemption_id"] for v in rest["items"]] == made[:1] and rest["next_cursor"] is None
    assert client.get("/api/v1/me/vouchers?limit=0", headers=headers).status_code == 422
