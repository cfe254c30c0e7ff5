"""Failed sign-ins are limited per account and per address; Redis shares counts across servers."""

from __future__ import annotations

import os

import pytest

from tests.conftest import make_app
from tests.factories import PASSWORD, csrf_token_from, make_user, next_mobile


def test_failed_sign_ins_lock_the_account_for_a_while(app, client, session):
    user = make_user(session)
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/tokens", json={"mobile": user.mobile, "password": "wrong-pass-1"}
        )
        assert response.status_code == 401
    blocked = client.post("/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.get_json()["reason"] == "too_many_requests"
    # Another account from the same address is still allowed.
    other = make_user(session)
    assert (
        client.post(
            "/api/v1/auth/tokens", json={"mobile": other.mobile, "password": PASSWORD}
        ).status_code
        == 201
    )


def test_successful_sign_ins_do_not_count(client, session):
    user = make_user(session)
    for _ in range(8):
        response = client.post(
            "/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD}
        )
        assert response.status_code == 201


def test_one_address_trying_many_accounts_is_limited(client, session):
    for _ in range(20):
        client.post(
            "/api/v1/auth/tokens", json={"mobile": next_mobile(), "password": "wrong-pass-1"}
        )
    response = client.post(
        "/api/v1/auth/tokens", json={"mobile": next_mobile(), "password": "wrong-pass-1"}
    )
    assert response.status_code == 429


def test_sign_in_page_shares_the_limits(client, session):
    user = make_user(session)
    token = csrf_token_from(client, "/sign-in")
    for _ in range(5):
        client.post(
            "/sign-in",
            data={"csrf_token": token, "mobile": user.mobile, "password": "wrong-pass-1"},
        )
    blocked = client.post(
        "/sign-in", data={"csrf_token": token, "mobile": user.mobile, "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert "稍后" in blocked.get_data(as_text=True)


def test_limits_are_shared_through_redis(database):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis tests skipped: no Redis server on 127.0.0.1:6379")
    # A Redis database of its own (emptied here); a shared machine names another.
    storage = os.environ.get("TANPUHUI_TEST_REDIS_LIMITS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(storage).flushdb()
    mobile = next_mobile()
    # Two app servers sharing one Redis: failures on one count on the other.
    first = make_app(database, RATELIMIT_STORAGE_URI=storage).test_client()
    second = make_app(database, RATELIMIT_STORAGE_URI=storage).test_client()
    for client in (first, second, first, second, first):
        client.post("/api/v1/auth/tokens", json={"mobile": mobile, "password": "wrong-pass-1"})
    assert (
        second.post(
            "/api/v1/auth/tokens", json={"mobile": mobile, "password": "wrong-pass-1"}
        ).status_code
        == 429
    )
    redis.Redis.from_url(storage).flushdb()
