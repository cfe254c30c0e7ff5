"""Every account changes its password with the current one (audited, page and API); an account a
bureau admin made must change the password it was given before anything else answers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts.models import ApiToken, User
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from tests.accounts.test_accounts_api import assert_error
from tests.factories import (
    PASSWORD,
    credentials,
    csrf_token_from,
    log_in,
    make_user,
    next_mobile,
)

NEW = "a brand new pass"


def token_for(client, user: User, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/tokens", json=credentials(user, password))
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def change(client, headers, current: str = PASSWORD, new: str = NEW):
    return client.post(
        "/api/v1/me/password",
        json={"current_password": current, "new_password": new},
        headers=headers,
    )


def audit_actions(session, user: User) -> list[str]:
    return list(
        session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.object_type == "user", AuditEntry.object_id == str(user.id))
            .where(AuditEntry.action.like("password.%"))
            .order_by(AuditEntry.id)
        )
    )


@pytest.mark.parametrize("role", list(Role))
def test_every_account_changes_its_password_through_the_api(client, session, role):
    user = make_user(session, role)
    headers = token_for(client, user)
    other = token_for(client, user)
    assert change(client, headers).status_code == 204
    assert (
        client.post(
            "/api/v1/auth/tokens", json={"mobile": user.mobile, "password": PASSWORD}
        ).status_code
        == 401
    )
    token_for(client, user, NEW)
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # the one it used
    assert client.get("/api/v1/me", headers=other).status_code == 401  # revoked
    assert audit_actions(session, user) == ["password.change"]


def test_a_wrong_current_password_changes_nothing_but_is_audited(client, session):
    user = make_user(session)
    headers = token_for(client, user)
    before = session.scalar(sa.select(User.password_hash).where(User.id == user.id))
    body = assert_error(change(client, headers, current="not my password"), 422,
                        "wrong_password", "current_password")  # fmt: skip
    assert body["message"]
    session.expire_all()
    assert session.scalar(sa.select(User.password_hash).where(User.id == user.id)) == before
    assert audit_actions(session, user) == ["password.change_refused"]
    live = sa.select(sa.func.count()).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
    )
    assert session.scalar(live) == 1


def test_the_new_password_follows_the_rule_at_each_limit(client, session):
    user = make_user(session)
    headers = token_for(client, user)
    current = PASSWORD
    for new, status in (("n" * 11, 422), ("n" * 12, 204), ("m" * 129, 422), ("m" * 128, 204),
                        ("1qaz2wsx3edc", 422), ("m" * 128, 422)):  # fmt: skip
        response = change(client, headers, current=current, new=new)
        if status == 204:
            assert response.status_code == 204, response.get_json()
            current = new
        else:
            assert response.status_code == 422
            assert response.get_json()["reason"] in {"weak_password", "same_password"}
            assert "new_password" in response.get_json()["errors"]
    assert audit_actions(session, user) == ["password.change", "password.change"]


def test_signed_out_callers_are_refused(client):
    response = client.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW}
    )
    assert_error(response, 401, "authentication_required")


def test_wrong_current_passwords_are_limited_per_account_on_page_and_api(client, session):
    user = make_user(session)
    headers = token_for(client, user)
    for _ in range(4):
        assert change(client, headers, current="not my password").status_code == 422
    page = client.application.test_client()
    log_in(page, user)
    token = csrf_token_from(page, "/me/password")
    form = {"csrf_token": token, "current_password": "not my password", "new_password": NEW}
    assert page.post("/me/password", data=form).status_code == 422  # the fifth
    assert change(client, headers).status_code == 429  # the sixth, right or wrong
    assert page.post("/me/password", data=form | {"current_password": PASSWORD}).status_code == 429
    assert audit_actions(session, user) == ["password.change_refused"] * 5


def test_the_page_changes_the_password_in_chinese_and_english(client, session):
    user = make_user(session, Role.ORGANISATION)
    log_in(client, user)
    page = client.get("/me/password")
    assert page.status_code == 200 and "修改密码" in page.get_data(as_text=True)
    token = csrf_token_from(client, "/me/password")
    wrong = client.post("/me/password", data={"csrf_token": token,
                        "current_password": "not my password", "new_password": NEW})  # fmt: skip
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    short = client.post("/me/password", data={"csrf_token": token,
                        "current_password": PASSWORD, "new_password": "too short"})  # fmt: skip
    assert short.status_code == 422 and "12" in short.get_data(as_text=True)
    done = client.post("/me/password", data={"csrf_token": token,
                       "current_password": PASSWORD, "new_password": NEW})  # fmt: skip
    assert done.status_code == 302
    assert audit_actions(session, user) == ["password.change_refused", "password.change"]
    client.get("/language/en")
    english = client.get("/me/password")
    assert "Change your password" in english.get_data(as_text=True)


def test_staff_made_by_an_admin_change_the_password_before_anything_else(client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    mobile = next_mobile()
    created = client.post(
        "/api/v1/bureau/staff",
        json={"mobile": mobile, "password": "given-by-admin-1", "display_name": "审核员",
              "role": "bureau_reviewer"},
        headers=token_for(client, admin),
    )  # fmt: skip
    assert created.status_code == 201
    staff = session.scalar(sa.select(User).where(User.mobile == mobile))
    assert staff.must_change_password and not admin.must_change_password

    headers = token_for(client, staff, "given-by-admin-1")
    assert_error(client.get("/api/v1/me", headers=headers), 403, "password_change_required")
    page = client.application.test_client()
    log_in(page, staff)
    for path in ("/bureau/", "/", "/wallet"):
        response = page.get(path)
        assert response.status_code == 302 and response.location.endswith("/me/password"), path
    assert page.get("/me/password").status_code == 200

    assert change(client, headers, current="given-by-admin-1").status_code == 204
    session.expire_all()
    assert not session.get(User, staff.id).must_change_password
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # The change ended every other session: the page signs in again, with the new password.
    ended = page.get("/bureau/")
    assert ended.status_code == 302 and "/sign-in" in ended.location
    log_in(page, session.get(User, staff.id))
    assert page.get("/bureau/").status_code == 200
