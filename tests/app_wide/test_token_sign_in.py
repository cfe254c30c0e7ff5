"""The API's bearer-token sign-in: a live token of an active account, and nothing else."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from app import clock
from app.accounts import services
from app.accounts.roles import Role
from tests.factories import log_in, make_user


def bearer(session, user, seconds: int = 3600) -> dict[str, str]:
    token, _expires = services.issue_api_token(session, user, lifetime_seconds=seconds)
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def test_a_live_token_signs_its_account_in(client, session):
    user = make_user(session)
    response = client.get("/api/v1/me", headers=bearer(session, user))
    assert response.status_code == 200
    assert response.get_json()["mobile"] == user.mobile
    assert "Set-Cookie" not in response.headers


def test_an_expired_token_is_refused(client, session):
    headers = bearer(session, make_user(session), seconds=60)
    with time_machine.travel(clock.now() + timedelta(seconds=61), tick=False):
        response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["reason"] == "authentication_required"


def test_a_deactivated_accounts_token_is_refused(client, session):
    user = make_user(session, Role.BUREAU_REVIEWER)
    headers = bearer(session, user)
    user.is_active = False
    session.flush()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/bureau/audit-log", headers=headers).status_code == 401


def test_a_token_grants_only_its_roles_permissions(client, session):
    headers = bearer(session, make_user(session))
    response = client.get("/api/v1/bureau/staff", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["reason"] == "forbidden"


def test_the_session_cookie_comes_before_a_token_as_ever(client, session):
    signed_in, other = make_user(session), make_user(session)
    log_in(client, signed_in)
    response = client.get("/api/v1/me", headers=bearer(session, other))
    assert response.get_json()["mobile"] == signed_in.mobile


def test_no_request_hook_makes_flask_login_load_the_account(client, session, monkeypatch):
    """The bearer sign-in runs before every other hook, so the hooks that read current_user (the
    forced password change among them) find the token's principal, not an ORM load."""
    headers = bearer(session, make_user(session))

    def loaded(*_args, **_kwargs):
        raise AssertionError("the account was loaded through Flask-Login")

    monkeypatch.setattr(services, "user_for_token", loaded)
    response = client.get("/api/v1/wallet", headers=headers)
    assert response.status_code == 200 and "balance" in response.get_json()


def test_a_token_of_an_account_that_must_change_its_password_is_held_to_it(client, session):
    user = make_user(session)
    user.must_change_password = True
    headers = bearer(session, user)
    response = client.get("/api/v1/wallet", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["reason"] == "password_change_required"
