"""Monthly statements: city-local months, reversals unpaid, CSV for the merchant and the bureau."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import time_machine
from hypothesis import given
from hypothesis import strategies as st

from app.accounts.roles import Role
from app.csvcells import safe_cell
from app.merchants.models import Store
from app.redemption import settlement
from tests.factories import log_in, make_user
from tests.merchants.support import (
    SHANGHAI,
    api_headers,
    issue,
    make_merchant,
    make_offer,
    make_staff,
)


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
    assert safe_cell("=HYPERLINK()") == "'=HYPERLINK()"
    assert settlement.amount_owed(333, Decimal("0.015")) == Decimal("5.00")  # 4.995 half up


@given(
    total_fen=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), max_size=40),
)
def test_shares_add_up_to_the_amount_and_stay_within_a_fen(total_fen, weights):
    total = Decimal(total_fen) / 100
    shares = settlement.split_amount(total, weights)
    assert len(shares) == len(weights)
    assert all(share == share.quantize(Decimal("0.01")) and share >= 0 for share in shares)
    if sum(weights) == 0:
        assert set(shares) <= {Decimal("0.00")}
        return
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        exact = total * weight / sum(weights)
        assert abs(share - exact) < Decimal("0.01")
        if weight == 0:
            assert share == 0


def test_a_chain_sees_each_store_and_the_parts_add_up(app, client, session, scene, monkeypatch):
    # At 0.015 yuan a point, 333 points are 4.995 yuan: rounding each line alone would pay 5.00
    # three times (15.00) where the month's 999 points are worth 14.99.
    monkeypatch.setitem(app.config, "YUAN_PER_POINT_SUBSIDY", Decimal("0.015"))
    second = Store(merchant_id=scene.merchant.id, name="=西门", address="银川市兴庆区 2 号")
    session.add(second)
    session.flush()
    offer = make_offer(session, scene.merchant, scene.store, points_price=333, title="半价停车")
    offer.stores.append(second)
    session.flush()
    second_cashier = make_staff(session, scene.merchant, "cashier", stores=[second])
    november = datetime(2026, 11, 10, 2, tzinfo=UTC)
    redeem_at(app, client, session, scene, offer, november)
    for hours in (1, 2):
        scene_at_second = dataclasses.replace(scene, cashier=second_cashier)
        redeem_at(app, client, session, scene_at_second, offer, november + timedelta(hours=hours))

    body = client.get(
        "/api/v1/merchant/settlement?month=2026-11", headers=api_headers(client, scene.manager)
    ).get_json()
    assert (body["points"], body["amount_yuan"]) == (999, "14.99")
    assert sum(Decimal(line["amount_yuan"]) for line in body["lines"]) == Decimal("14.99")
    assert sorted(Decimal(line["amount_yuan"]) for line in body["lines"]) == [
        Decimal("4.99"), Decimal("5.00"), Decimal("5.00")
    ]  # fmt: skip
    by_store = {row["store_name"]: row for row in body["by_store"]}
    assert set(by_store) == {scene.store.name, "=西门"}
    assert (by_store["=西门"]["redemptions"], by_store["=西门"]["points"]) == (2, 666)
    assert by_store[scene.store.name]["store_id"] == scene.store.id
    assert sum(Decimal(row["amount_yuan"]) for row in body["by_store"]) == Decimal("14.99")

    page = app.test_client()
    log_in(page, scene.manager)
    html = page.get("/merchant/settlement?month=2026-11").get_data(as_text=True)
    assert "按门店" in html and "¥14.99" in html
    rows = list(csv.reader(io.StringIO(page.get("/merchant/settlement.csv?month=2026-11")
                                       .get_data(as_text=True).lstrip("\ufeff"))))  # fmt: skip
    lines = [row for row in rows[1:] if row[0].isdigit()]
    stores = [row for row in rows if row[0] == "store_total"]
    assert sum(Decimal(row[-1]) for row in lines) == Decimal("14.99")
    assert sum(Decimal(row[-1]) for row in stores) == Decimal("14.99")
    assert {row[2] for row in stores} == {scene.store.name, "'=西门"}  # no formula
    assert rows[-1][0] == "total" and rows[-1][-1] == "14.99"
