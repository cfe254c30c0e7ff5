"""Limits that hold (#24): page and API sign-ins share one counter; other addresses' failures do
not lock the owner out; forwarded addresses are believed only from the configured proxies;
merchant applications and QR codes are limited. Each limit is tested exactly at it and one past.

Every worker sharing the counter is shown with real gunicorn in test_shared_limit_store.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.accounts.models import User
from app.merchants.models import Merchant
from app.redemption.models import RedemptionToken
from tests.conftest import make_app
from tests.factories import PASSWORD, csrf_token_from, make_user, next_mobile
from tests.merchants.support import make_scene

WRONG = "wrong-pass-1"


def from_address(client: FlaskClient, address: str) -> FlaskClient:
    client.environ_base["REMOTE_ADDR"] = address
    return client


def api_sign_in(client, mobile: str, password: str = WRONG, **kwargs):
    return client.post(
        "/api/v1/auth/tokens", json={"mobile": mobile, "password": password}, **kwargs
    )


def page_sign_in(client, mobile: str, password: str = WRONG):
    token = csrf_token_from(client, "/sign-in")
    return client.post(
        "/sign-in", data={"csrf_token": token, "mobile": mobile, "password": password}
    )


def test_page_and_api_sign_ins_share_one_counter(app, client, session):
    user = make_user(session)
    for _ in range(3):
        assert page_sign_in(client, user.mobile).status_code == 401
    assert api_sign_in(client, user.mobile).status_code == 401
    assert api_sign_in(client, user.mobile).status_code == 401  # the 5th: exactly at the limit
    assert page_sign_in(client, user.mobile, PASSWORD).status_code == 429  # one past, page
    assert api_sign_in(client, user.mobile, PASSWORD).status_code == 429  # and API
    session.expire_all()
    assert session.get(User, user.id).last_sign_in_at is None  # nothing was signed in


def test_failures_from_other_addresses_do_not_lock_the_owner_out(app, session):
    owner = make_user(session)
    for n in range(5):  # five wrong passwords from five addresses (the finding)
        attacker = from_address(app.test_client(), f"198.51.100.{n + 1}")
        assert api_sign_in(attacker, owner.mobile).status_code == 401
    one_address = from_address(app.test_client(), "198.51.100.77")
    for _ in range(5):
        assert api_sign_in(one_address, owner.mobile).status_code == 401
    assert api_sign_in(one_address, owner.mobile, PASSWORD).status_code == 429  # that address
    owner_client = from_address(app.test_client(), "203.0.113.10")
    assert api_sign_in(owner_client, owner.mobile, PASSWORD).status_code == 201
    assert page_sign_in(owner_client, owner.mobile, PASSWORD).status_code == 302


def test_an_account_has_a_ceiling_over_all_addresses(app, session):
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT_TOTAL"] = "3 per hour"
    user = make_user(session)
    for n in range(3):
        client = from_address(app.test_client(), f"198.51.100.{n + 1}")
        assert api_sign_in(client, user.mobile).status_code == 401
    fourth = from_address(app.test_client(), "198.51.100.4")
    assert api_sign_in(fourth, user.mobile, PASSWORD).status_code == 429
    other = make_user(session)  # other accounts are unaffected
    assert api_sign_in(fourth, other.mobile, PASSWORD).status_code == 201


def test_forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy(database):
    app = make_app(database, TRUSTED_PROXIES=["10.0.0.1"])
    app.config["SIGN_IN_LIMIT_PER_ADDRESS"] = "3 per 15 minutes"
    client = from_address(app.test_client(), "203.0.113.5")
    for n in range(3):  # a rotating header from an untrusted client: one address
        headers = {"X-Forwarded-For": f"192.0.2.{n + 1}"}
        assert api_sign_in(client, next_mobile(), headers=headers).status_code == 401
    rotated = {"X-Forwarded-For": "192.0.2.99"}
    assert api_sign_in(client, next_mobile(), headers=rotated).status_code == 429
    proxy = from_address(app.test_client(), "10.0.0.1")
    for n in range(3):  # through the trusted proxy each forwarded address counts on its own
        headers = {"X-Forwarded-For": f"192.0.2.{n + 10}"}
        assert api_sign_in(proxy, next_mobile(), headers=headers).status_code == 401
    assert api_sign_in(proxy, next_mobile(), headers=rotated).status_code == 401


def _application(n: int) -> dict:
    return {
        "name": f"绿色小店{n}",
        "kind": "shop",
        "contact_name": "王经理",
        "contact_mobile": next_mobile(),
        "password": "a-long-enough-passphrase",
        "stores": [{"name": "一号店", "address": "银川市金凤区正源街 1 号"}],
    }


def test_merchant_applications_are_limited_per_address(app, client, session):
    app.config["MERCHANT_APPLICATION_LIMIT_PER_ADDRESS"] = "2 per day"
    before = session.scalar(sa.select(sa.func.count()).select_from(Merchant))
    for n in range(2):  # each from a new browser at the same address
        done = app.test_client().post("/api/v1/merchants/applications", json=_application(n))
        assert done.status_code == 201, done.get_json()
    refused = client.post("/api/v1/merchants/applications", json=_application(3))
    assert refused.status_code == 429 and refused.get_json()["reason"] == "too_many_requests"
    page = app.test_client()
    token = csrf_token_from(page, "/merchants/apply")
    assert page.post("/merchants/apply", data={"csrf_token": token}).status_code == 429
    assert session.scalar(sa.select(sa.func.count()).select_from(Merchant)) == before + 2


def test_qr_code_requests_are_limited_per_resident(app, client, session):
    app.config["QR_TOKEN_LIMIT_PER_ACCOUNT"] = "3 per 10 minutes"
    scene = make_scene(session)
    response = client.post(
        "/api/v1/auth/tokens", json={"mobile": scene.resident.mobile, "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
    url = f"/api/v1/wallet/offers/{scene.offer.id}/tokens"
    for _ in range(3):
        assert client.post(url, headers=headers).status_code == 201
    refused = client.post(url, headers=headers)
    assert refused.status_code == 429 and refused.get_json()["reason"] == "too_many_requests"
    issued = sa.select(sa.func.count()).where(RedemptionToken.resident_id == scene.resident.id)
    assert session.scalar(issued) == 3
