"""An offer's page offers the QR code only when it could be redeemed, and otherwise says why:
short of points (exactly enough is enough), out of stock, or a limit reached."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.factories import log_in, make_user
from tests.merchants.support import api_headers, give_points, issue

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _page(client, offer) -> str:
    return client.get(f"/offers/{offer.id}").get_data(as_text=True)


@pytest.mark.parametrize(("points", "usable"), [(500, True), (499, False)])
def test_the_button_needs_the_price_in_points(client, session, scene, points, usable):
    resident = make_user(session, display_name="王五")
    give_points(session, resident, points)
    session.commit()
    log_in(client, resident)
    html = _page(client, scene.offer)
    assert (f"/offers/{scene.offer.id}/qr" in html) is usable
    assert ("积分不足" in html) is not usable


def test_an_offer_out_of_stock_says_so(client, session, scene):
    scene.offer.stock = 0
    session.commit()
    log_in(client, scene.resident)
    html = _page(client, scene.offer)
    assert f"/offers/{scene.offer.id}/qr" not in html and "disabled" in html


def test_a_reached_daily_limit_says_so(app, client, session, scene):
    scene.offer.daily_limit = 1
    session.commit()
    token = issue(app, session, scene.resident, scene.offer, now=NOW)
    session.commit()
    with time_machine.travel(NOW, tick=False):
        done = client.post(
            "/api/v1/merchant/redemptions",
            json={"token": token.signed},
            headers=api_headers(client, scene.cashier),
        )
        assert done.status_code == 201
        log_in(client, scene.resident)
        html = _page(client, scene.offer)
    assert f"/offers/{scene.offer.id}/qr" not in html
    assert "每人每天限" in html or "a day per person" in html


def test_home_offers_the_last_qr_code_only_while_it_could_be_used(client, session, scene):
    resident = make_user(session, display_name="赵六")
    give_points(session, resident, 500)
    session.commit()
    log_in(client, resident)
    assert "再次使用" not in client.get("/me").get_data(as_text=True)  # no QR code opened yet
    assert client.get(f"/offers/{scene.offer.id}/qr").status_code == 200
    home = client.get("/me").get_data(as_text=True)
    assert "再次使用" in home and scene.offer.title in home
    assert f'href="/offers/{scene.offer.id}/qr"' in home and "积分不足" not in home
    scene.offer.points_price = 501  # one point more than the resident has
    session.commit()
    home = client.get("/me").get_data(as_text=True)
    assert f'href="/offers/{scene.offer.id}/qr"' not in home
    assert "积分不足" in home and "disabled" in home
