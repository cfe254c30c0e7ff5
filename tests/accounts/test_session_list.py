"""Everyone sees their sessions and API tokens (#20): created, last used, from where; ends any of
them; a password change ends the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from app.accounts.models import ApiToken, UserSession
from app.accounts.roles import Role
from tests.factories import PASSWORD, credentials, csrf_token_from, make_user

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
NEW = "a-brand-new-passphrase-9"


def browser(app, address: str, agent: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.environ_base["HTTP_USER_AGENT"] = agent
    return client


def sign_in(client, user) -> None:
    token = csrf_token_from(client, "/sign-in")
    done = client.post(
        "/sign-in", data={"csrf_token": token, "mobile": user.mobile, "password": PASSWORD}
    )
    assert done.status_code == 302


def token_of(client, user) -> dict[str, str]:
    """A token made by a script at ``client``'s address (a call without the browser's cookie)."""
    script = browser(client.application, client.environ_base["REMOTE_ADDR"], "script")
    response = script.post("/api/v1/auth/tokens", json=credentials(user))
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_sessions_and_tokens_are_listed_with_when_and_where_and_ended(app, session):
    user = make_user(session)
    phone = browser(app, "198.51.100.7", "Phone Browser")
    laptop = browser(app, "203.0.113.9", "Laptop Browser")
    with time_machine.travel(NOW, tick=False):
        sign_in(phone, user)
        sign_in(laptop, user)
        headers = token_of(laptop, user)
    with time_machine.travel(NOW + timedelta(seconds=59), tick=False):
        script = browser(app, "203.0.113.9", "script")
        assert script.get("/api/v1/me", headers=headers).status_code == 200
    with time_machine.travel(NOW + timedelta(seconds=60), tick=False):
        phone.get("/wallet")
        listed = phone.get("/api/v1/me/sessions").get_json()
        tokens = phone.get("/api/v1/me/tokens").get_json()
        page = phone.get("/me/security").get_data(as_text=True)
        csrf = csrf_token_from(phone, "/me/security")
    assert [row["user_agent"] for row in listed] == ["Phone Browser", "Laptop Browser"]
    assert listed[0]["ip_address"] == "198.51.100.7"
    assert listed[0]["last_seen_at"] == "2026-12-07T12:01:00+00:00"  # written a minute after
    assert listed[1]["last_seen_at"] == "2026-12-07T12:00:00+00:00"
    [token] = tokens
    assert token["created_ip"] == "203.0.113.9" and token["last_used_ip"] == "203.0.113.9"
    assert token["last_used_at"] == "2026-12-07T12:00:59+00:00"
    assert "token" not in token and "token_hash" not in token
    assert "Laptop Browser" in page and "203.0.113.9" in page

    laptop_row = listed[1]["id"]
    with time_machine.travel(NOW + timedelta(seconds=90), tick=False):
        ended = phone.post(f"/me/sessions/{laptop_row}/end", data={"csrf_token": csrf})
        assert ended.status_code == 302
        assert laptop.get("/wallet").status_code == 302  # signed out
        assert phone.get("/wallet").status_code == 200
        again = phone.delete(f"/api/v1/me/sessions/{laptop_row}", headers={"X-CSRFToken": csrf})
        assert again.status_code == 404 and again.get_json()["reason"] == "session_not_found"
        revoked = phone.post(f"/me/tokens/{token['id']}/revoke", data={"csrf_token": csrf})
        assert revoked.status_code == 302
        assert script.get("/api/v1/me", headers=headers).status_code == 401


def test_nobody_ends_another_accounts_session_or_token(app, session):
    owner, other = make_user(session), make_user(session)
    mine, theirs = browser(app, "192.0.2.1", "A"), browser(app, "192.0.2.2", "B")
    sign_in(mine, owner)
    sign_in(theirs, other)
    headers = token_of(theirs, other)
    their_session = session.scalars(
        sa.select(UserSession.id).where(UserSession.user_id == other.id)
    ).one()
    their_token = session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == other.id)).one()
    csrf = csrf_token_from(mine, "/me/security")
    for url in (f"/api/v1/me/sessions/{their_session}", f"/api/v1/me/tokens/{their_token}"):
        response = mine.delete(url, headers={"X-CSRFToken": csrf})
        assert response.status_code == 404
    assert theirs.get("/wallet").status_code == 200
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200


def test_a_password_change_ends_the_other_sessions_and_tokens_not_this_one(app, session):
    user = make_user(session, Role.ORGANISATION)
    here, there = browser(app, "192.0.2.1", "Here"), browser(app, "192.0.2.2", "There")
    sign_in(here, user)
    sign_in(there, user)
    headers = token_of(there, user)
    csrf = csrf_token_from(here, "/me/password")
    changed = here.post(
        "/me/password",
        data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": NEW},
    )
    assert changed.status_code == 302
    assert here.get("/me/security").status_code == 200
    assert there.get("/me/security").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    listed = here.get("/api/v1/me/sessions").get_json()
    assert [row["user_agent"] for row in listed] == ["Here"]
    assert here.get("/api/v1/me/tokens").get_json() == []


def test_a_session_without_its_row_signs_nobody_in(app, client, session):
    user = make_user(session)
    sign_in(client, user)
    session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    session.flush()
    assert client.get("/wallet").status_code == 302
