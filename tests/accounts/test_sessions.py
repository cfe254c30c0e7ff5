"""Sessions end (#24): sign-out, a password change and an admin's deactivation end every session
and API token of the account at once; the session id and the CSRF secret are new at sign-in and
at sign-out; a session ends when idle too long and at its absolute lifetime."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from app import clock
from app.accounts.models import User
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from tests.factories import PASSWORD, credentials, csrf_token_from, log_in, make_user

NEW = "a-brand-new-passphrase-9"


def sign_in(client, user: User) -> None:
    token = csrf_token_from(client, "/sign-in")
    done = client.post(
        "/sign-in", data={"csrf_token": token, "mobile": user.mobile, "password": PASSWORD}
    )
    assert done.status_code == 302


def sign_out(client) -> None:
    token = csrf_token_from(client, "/")
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302


def token_of(client, user: User) -> dict[str, str]:
    response = client.post("/api/v1/auth/tokens", json=credentials(user))
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def copy_of(client, app):
    """Another browser, at another address, holding a copy of ``client``'s session cookie."""
    stolen = app.test_client()
    cookie = client.get_cookie("session")
    stolen.set_cookie("session", cookie.value, domain=cookie.domain)
    stolen.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    return stolen


def signed_in(client) -> bool:
    response = client.get("/wallet")
    return response.status_code == 200


def session_values(client) -> dict:
    with client.session_transaction() as flask_session:
        return dict(flask_session)


def test_a_cookie_copied_before_sign_out_no_longer_works_after_it(app, client, session):
    user = make_user(session)
    sign_in(client, user)
    stolen = copy_of(client, app)
    headers = token_of(app.test_client(), user)
    assert signed_in(stolen)
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200

    sign_out(client)

    assert not signed_in(client)
    refused = stolen.get("/wallet")
    assert refused.status_code == 302 and "/sign-in" in refused.location
    assert stolen.get("/api/v1/me").status_code == 401  # the API refuses the copy as well
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401  # token too
    sign_in(client, user)  # the owner signs in again as usual
    assert signed_in(client)


def test_the_session_id_and_csrf_secret_are_new_at_sign_in_and_sign_out(client, session):
    user = make_user(session)
    csrf_token_from(client, "/sign-in")
    before = session_values(client)
    assert before.get("csrf_token")
    sign_in(client, user)
    during = session_values(client)
    csrf_token_from(client, "/")
    during = session_values(client)
    assert during["sid"] and during["csrf_token"] != before["csrf_token"]
    sign_out(client)
    csrf_token_from(client, "/sign-in")
    after = session_values(client)
    assert "_user_id" not in after and "sid" not in after
    assert after["csrf_token"] not in {before["csrf_token"], during["csrf_token"]}


def test_a_password_change_ends_the_other_sessions_and_tokens_not_this_one(app, client, session):
    user = make_user(session)
    sign_in(client, user)
    other = app.test_client()
    sign_in(other, user)
    headers = token_of(app.test_client(), user)
    token = csrf_token_from(client, "/me/password")
    changed = client.post(
        "/me/password",
        data={"csrf_token": token, "current_password": PASSWORD, "new_password": NEW,
              "confirm": NEW},
    )  # fmt: skip
    assert changed.status_code == 302, changed.get_data(as_text=True)
    assert signed_in(client)
    assert not signed_in(other)
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401


def test_deactivation_ends_sessions_and_tokens_and_re_enabling_does_not_revive_them(
    app, client, session
):
    admin = make_user(session, Role.BUREAU_ADMIN)
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    staff_page = app.test_client()
    log_in(staff_page, reviewer)
    assert staff_page.get("/bureau/").status_code == 200
    headers = token_of(app.test_client(), reviewer)
    admin_headers = token_of(app.test_client(), admin)
    for active in (False, True):
        response = client.patch(
            f"/api/v1/bureau/staff/{reviewer.id}", json={"is_active": active},
            headers=admin_headers,
        )  # fmt: skip
        assert response.status_code == 200
    assert staff_page.get("/bureau/").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_id == str(reviewer.id))
    ).all()
    assert actions == ["staff.create", "staff.disable", "staff.enable"]


def test_a_session_ends_after_the_idle_timeout_exactly_past_it(app, client, session):
    idle = app.config["SESSION_IDLE_SECONDS"]
    user = make_user(session)
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        log_in(client, user)
        traveller.move_to(start + timedelta(seconds=idle))
        assert signed_in(client)  # exactly at the timeout: still on (and its use noted)
        traveller.move_to(start + timedelta(seconds=2 * idle))
        assert signed_in(client)  # idle exactly the timeout again since the last use
        traveller.move_to(start + timedelta(seconds=3 * idle + 1))
        assert not signed_in(client)  # one second past: ended


def test_a_session_ends_at_its_absolute_lifetime_however_busy(app, client, session):
    lifetime = app.config["SESSION_LIFETIME_SECONDS"]
    idle = app.config["SESSION_IDLE_SECONDS"]
    user = make_user(session)
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        log_in(client, user)
        at = 0
        while at + idle < lifetime:
            at += idle
            traveller.move_to(start + timedelta(seconds=at))
            assert signed_in(client)
        traveller.move_to(start + timedelta(seconds=lifetime))
        assert signed_in(client)  # exactly at the lifetime
        traveller.move_to(start + timedelta(seconds=lifetime + 1))
        assert not signed_in(client)  # one second past, although used a moment ago
