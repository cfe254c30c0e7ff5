"""Monthly statements: city-local months, reversals unpaid, CSV for the merchant and the bureau."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import time_machine

from app.accounts.roles import Role
from app.redemption import settlement
from tests.factories import log_in, make_user
from tests.merchants.support import SHANGHAI, api_headers, issue, make_merchant, make_offer


def redeem_at(app, client, session, scene, offer, instant: datetime) -> int:
    token = issue(app, session, scene.resident, offer, now=instant)
    with time_machine.travel(instant + timedelta(seconds=1), tick=False):
        response = client.post(
            "/api/v1/merchant/redemptions",
            json={"token": token.signed},
            headers=api_headers(client, scene.cashier),
        )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["redemption"]["id"]


def test_a_month_is_counted_in_the_city_time_zone(app, client, session, scene):
    # 31 October 23:30 in Yinchuan is 15:30 UTC: it belongs to October, not November.
    redeem_at(app, client, session, scene, scene.offer, datetime(2026, 10, 31, 15, 30, tzinfo=UTC))
    # 1 November 00:30 in Yinchuan is still 31 October in UTC: it belongs to November.
    redeem_at(app, client, session, scene, scene.offer, datetime(2026, 10, 31, 16, 30, tzinfo=UTC))
    cheap = make_offer(session, scene.merchant, scene.store, points_price=250, title="半价停车")
    reversed_id = redeem_at(app, client, session, scene, cheap, datetime(2026, 11, 3, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 11, 3, 1, tzinfo=UTC), tick=False):
        assert (
            client.post(
                f"/api/v1/merchant/redemptions/{reversed_id}/reversal",
                json={"reason": "误扫"},
                headers=api_headers(client, scene.manager),
            ).status_code
            == 200
        )

    stmt = settlement.statement(
        session, scene.merchant.id, datetime(2026, 11, 1).date(), zone=SHANGHAI,
        yuan_per_point=Decimal("0.01"),
    )  # fmt: skip
    assert (stmt.redemptions, stmt.points, stmt.reversed) == (1, 500, 1)
    assert stmt.amount_yuan == Decimal("5.00")
    october = settlement.statement(
        session, scene.merchant.id, datetime(2026, 10, 1).date(), zone=SHANGHAI,
        yuan_per_point=Decimal("0.01"),
    )  # fmt: skip
    assert (october.redemptions, october.points) == (1, 500)

    merchant_view = client.get(
        "/api/v1/merchant/settlement?month=2026-11", headers=api_headers(client, scene.cashier)
    ).get_json()
    assert merchant_view["amount_yuan"] == "5.00"
    assert len(merchant_view["lines"]) == 2

    page = app.test_client()
    log_in(page, scene.manager)
    html = page.get("/merchant/settlement?month=2026-11").get_data(as_text=True)
    assert "¥5.00" in html and "1 笔已撤销" in html
    csv = page.get("/merchant/settlement.csv?month=2026-11")
    assert csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeffredemption_id,confirmed_at_local,store,offer")
    assert f",{scene.store.name}," in text
    assert {line["store_name"] for line in merchant_view["lines"]} == {scene.store.name}
    assert "2026-11-01T00:30:01+08:00" in text
    assert text.strip().splitlines()[-1].endswith(",5.00")

    other, other_store = make_merchant(session, name="另一家")
    make_offer(session, other, other_store)
    bureau = app.test_client()
    log_in(bureau, make_user(session, Role.BUREAU_REVIEWER))
    totals = bureau.get("/bureau/settlement?month=2026-11").get_data(as_text=True)
    assert scene.merchant.name in totals and "另一家" not in totals  # no redemptions, no line
    all_csv = bureau.get("/bureau/settlement.csv?month=2026-11").get_data(as_text=True)
    assert f"{scene.merchant.id},{scene.merchant.name},2026-11,1,1,500,5.00" in all_csv
    detail = bureau.get(f"/bureau/merchants/{scene.merchant.id}/settlement?month=2026-11")
    assert detail.status_code == 200 and "¥5.00" in detail.get_data(as_text=True)
    api = client.get(
        "/api/v1/bureau/settlement?month=2026-11",
        headers=api_headers(client, make_user(session, Role.BUREAU_ADMIN)),
    ).get_json()
    assert [(row["merchant_id"], row["amount_yuan"]) for row in api] == [
        (scene.merchant.id, "5.00")
    ]


def test_bad_months_and_formula_cells(client, session, scene):
    response = client.get(
        "/api/v1/merchant/settlement?month=2026-13", headers=api_headers(client, scene.cashier)
    )
    assert response.status_code == 422 and response.get_json()["reason"] == "invalid_month"
    assert settlement._safe_cell("=HYPERLINK()") == "'=HYPERLINK()"
    assert settlement.amount_owed(333, Decimal("0.015")) == Decimal("5.00")  # 4.995 half up
