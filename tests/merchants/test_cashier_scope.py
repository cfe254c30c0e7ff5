"""A cashier sees the redemptions, voucher codes and settlement totals of their own stores only;
a manager sees every store of the merchant (pages and API)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from app.merchants.models import Store, staff_stores
from tests.factories import log_in
from tests.merchants.support import api_headers, issue, make_offer, make_staff

NOVEMBER = datetime(2026, 11, 3, 2, tzinfo=UTC)


@dataclass
class TwoStores:
    north_cashier: object
    south_cashier: object
    north_code: str
    south_code: str


def redeem(app, client, session, scene, cashier, offer, instant: datetime) -> dict:
    token = issue(app, session, scene.resident, offer, now=instant)
    with time_machine.travel(instant + timedelta(seconds=1), tick=False):
        response = client.post(
            "/api/v1/merchant/redemptions",
            json={"token": token.signed},
            headers=api_headers(client, cashier),
        )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["redemption"]


@pytest.fixture
def two_stores(app, client, session, scene) -> TwoStores:
    """The scene's store (north) and a second one (south), a cashier at each, one redemption at
    each: 500 points at the north store, 300 at the south one."""
    south = Store(merchant_id=scene.merchant.id, name="绿色停车场南门店", address="西夏区 9 号")
    session.add(south)
    session.flush()
    south_offer = make_offer(session, scene.merchant, south, points_price=300, title="南门停车")
    south_cashier = make_staff(session, scene.merchant, "cashier", stores=[south])
    north = redeem(app, client, session, scene, scene.cashier, scene.offer, NOVEMBER)
    south_redeemed = redeem(app, client, session, scene, south_cashier, south_offer, NOVEMBER)
    return TwoStores(
        scene.cashier,
        south_cashier,
        north["fulfilment"]["code"],
        south_redeemed["fulfilment"]["code"],
    )


def test_a_cashier_lists_only_their_stores_redemptions_in_the_api(client, scene, two_stores):
    listed = client.get(
        "/api/v1/merchant/redemptions", headers=api_headers(client, two_stores.north_cashier)
    ).get_json()
    assert [row["fulfilment"]["code"] for row in listed] == [two_stores.north_code]
    everything = client.get(
        "/api/v1/merchant/redemptions", headers=api_headers(client, scene.manager)
    ).get_json()
    assert {row["fulfilment"]["code"] for row in everything} == {
        two_stores.north_code,
        two_stores.south_code,
    }


def test_a_cashier_does_not_see_another_stores_voucher_codes_on_the_page(app, scene, two_stores):
    page = app.test_client()
    log_in(page, two_stores.south_cashier)
    html = page.get("/merchant/redemptions").get_data(as_text=True)
    assert two_stores.south_code in html
    assert two_stores.north_code not in html
    manager = app.test_client()
    log_in(manager, scene.manager)
    html = manager.get("/merchant/redemptions").get_data(as_text=True)
    assert two_stores.south_code in html and two_stores.north_code in html


def test_a_cashiers_statement_totals_only_their_stores(client, scene, two_stores):
    north = client.get(
        "/api/v1/merchant/settlement?month=2026-11",
        headers=api_headers(client, two_stores.north_cashier),
    ).get_json()
    assert (north["points"], north["amount_yuan"], north["redemptions"]) == (500, "5.00", 1)
    assert [store["store_name"] for store in north["by_store"]] == ["绿色停车场一号店"]
    assert len(north["lines"]) == 1
    whole = client.get(
        "/api/v1/merchant/settlement?month=2026-11", headers=api_headers(client, scene.manager)
    ).get_json()
    assert (whole["points"], whole["amount_yuan"], whole["redemptions"]) == (800, "8.00", 2)
    assert len(whole["by_store"]) == 2


def test_a_cashiers_statement_page_and_csv_leave_out_other_stores(app, scene, two_stores):
    page = app.test_client()
    log_in(page, two_stores.south_cashier)
    html = page.get("/merchant/settlement?month=2026-11").get_data(as_text=True)
    assert "¥3.00" in html and "¥8.00" not in html and "绿色停车场一号店" not in html
    rows = list(
        csv.reader(io.StringIO(page.get("/merchant/settlement.csv?month=2026-11").text[1:]))
    )
    assert [row[2] for row in rows[1:-1]] == ["绿色停车场南门店", "绿色停车场南门店"]
    assert rows[-1][4:] == ["300", "1 redeemed, 0 reversed", "3.00"]


def test_a_cashier_without_a_store_sees_no_redemptions_or_totals(
    client, session, scene, two_stores
):
    idle = make_staff(session, scene.merchant, "cashier", stores=[])
    # make_staff assigns every store when given none: take them away again.
    session.execute(staff_stores.delete().where(staff_stores.c.user_id == idle.id))
    headers = api_headers(client, idle)
    assert client.get("/api/v1/merchant/redemptions", headers=headers).get_json() == []
    statement = client.get("/api/v1/merchant/settlement?month=2026-11", headers=headers)
    assert statement.status_code == 200
    assert (statement.get_json()["points"], statement.get_json()["by_store"]) == (0, [])
