"""The bureau sees what changed in a re-submitted offer since it last approved it, from the audit
log: several edits combine, terms edited back drop out, the stock never counts."""

from __future__ import annotations

import re

from app.accounts.roles import Role
from app.audit.services import SYSTEM
from app.merchants import offers
from app.merchants.models import OfferStatus, Store
from tests.factories import log_in, make_user
from tests.merchants.support import api_headers, make_merchant, make_offer, make_staff
from tests.merchants.test_offer_edits import fresh, put


def approved_offer(session):
    """A parking offer that went through the bureau, and its manager."""
    merchant, store = make_merchant(session)
    offer = make_offer(session, merchant, store, status=OfferStatus.PENDING, stock=10)
    offers.decide_offer(session, SYSTEM, offer.id, approve=True)
    return offer, make_staff(session, merchant)


def changes_on_page(client, session, offer) -> dict[str, tuple[str, str]]:
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    html = client.get("/bureau/offers").get_data(as_text=True)
    card = html.split(f"/bureau/offers/{offer.id}/decision")[0].rsplit('<section class="card">')[-1]
    rows = re.findall(
        r'<tr data-field="([^"]+)"><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>', card
    )
    return {field: (before, after) for field, before, after in rows}


def test_two_edits_after_approval_show_as_one_change_each(app, client, session):
    offer, manager = approved_offer(session)
    second = Store(merchant_id=offer.merchant_id, name="二号店", address="西夏区 2 号")
    session.add(second)
    session.flush()
    merchant_api = app.test_client()  # bearer only: ``client`` signs in to the bureau's page
    headers = api_headers(merchant_api, manager)
    first = put(
        merchant_api, headers, offer, points_price=400, config={"free_minutes": 90}, terms="工作日",
        stock=20,
    )  # fmt: skip
    assert first.status_code == 200 and first.get_json()["status"] == "pending"
    offer = fresh(session, offer)
    again = put(
        merchant_api, headers, offer, points_price=350, title="90 分钟免费停车", terms="",
        daily_limit=2, valid_until="2099-12-31T16:00:00+00:00",
        store_ids=[offer.stores[0].id, second.id],
    )  # fmt: skip
    assert again.status_code == 200, again.get_json()

    assert changes_on_page(client, session, offer) == {
        "title": ("60 分钟免费停车", "90 分钟免费停车"),
        "config.free_minutes": ("60", "90"),
        "points_price": ("500", "350"),
        "daily_limit": ("不限", "2"),
        "valid_until": ("2100-01-01", "2099-12-31"),
        "store_ids": ("绿色停车场一号店", "绿色停车场一号店、二号店"),
    }  # the terms were edited back and the stock needs no approval
    html = client.get("/bureau/offers").get_data(as_text=True)
    assert "自上次批准以来的修改" in html and "免费停车分钟数" in html and "所需积分" in html

    api = app.test_client()
    admin = api_headers(api, make_user(session, Role.BUREAU_ADMIN))
    (pending,) = api.get("/api/v1/bureau/offers/pending", headers=admin).get_json()
    assert pending["id"] == offer.id and pending["points_price"] == 350
    assert pending["changes"][:3] == [
        {
            "field": "title",
            "label": "标题",
            "before": "60 分钟免费停车",
            "after": "90 分钟免费停车",
        },
        {"field": "config.free_minutes", "label": "免费停车分钟数", "before": "60", "after": "90"},
        {"field": "points_price", "label": "所需积分", "before": "500", "after": "350"},
    ]
    api.set_cookie("lang", "en")
    english = api.get("/api/v1/bureau/offers/pending", headers=admin).get_json()
    assert english[0]["changes"][1]["label"] == "Free parking minutes"

    # Once approved again, the next edit is compared with that approval.
    offers.decide_offer(session, SYSTEM, offer.id, approve=True)
    again = put(merchant_api, headers, fresh(session, offer), points_price=300)
    assert again.status_code == 200, again.get_json()
    assert changes_on_page(client, session, offer) == {"points_price": ("350", "300")}


def test_a_new_offer_shows_no_changes(app, client, session):
    merchant, store = make_merchant(session)
    headers = api_headers(client, make_staff(session, merchant))
    offer = make_offer(session, merchant, store, status=OfferStatus.PENDING)
    assert put(client, headers, offer, points_price=450).status_code == 200  # before any approval
    assert changes_on_page(client, session, offer) == {}
    api = app.test_client()
    admin = api_headers(api, make_user(session, Role.BUREAU_ADMIN))
    (pending,) = api.get("/api/v1/bureau/offers/pending", headers=admin).get_json()
    assert pending["id"] == offer.id and pending["changes"] == []


def test_a_stock_only_edit_is_not_for_the_bureau(client, session):
    offer, manager = approved_offer(session)
    edited = put(client, api_headers(client, manager), offer, stock=50)
    assert edited.status_code == 200 and edited.get_json()["status"] == "active"
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    page = client.get("/bureau/offers").get_data(as_text=True)
    assert f"/bureau/offers/{offer.id}/decision" not in page and "data-field" not in page
