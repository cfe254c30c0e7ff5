"""Pages as a person uses them: sign-up, sign-in, CSRF, languages, readable errors."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.accounts.models import Organisation, User
from app.accounts.roles import Role
from tests.factories import PASSWORD, csrf_token_from, make_user, next_mobile, texted_code


def test_landing_page_is_chinese_by_default_and_english_on_request(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "银川" in page
    client.get("/language/en?next=/")
    english = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Yinchuan" in english
    assert "Low-carbon living, rewarded" in english


def test_language_switch_only_redirects_inside_the_site(client):
    response = client.get("/language/en?next=//evil.example/")
    assert response.headers["Location"].endswith("/")
    assert "evil" not in response.headers["Location"]


def test_resident_signs_up_on_the_page_and_lands_home(client, session):
    mobile = next_mobile()
    code = texted_code(client, mobile)
    token = csrf_token_from(client, "/sign-up")
    response = client.post(
        "/sign-up",
        data={
            "csrf_token": token,
            "display_name": "小绿",
            "mobile": mobile,
            "code": code,
            "password": "bus-rider-88",
            "consent": "y",
        },
    )
    assert response.status_code == 302
    home = client.get("/home", follow_redirects=True)
    assert home.status_code == 200
    assert "小绿" in home.get_data(as_text=True)


def test_organisation_signs_up_on_the_page(client, session):
    token = csrf_token_from(client, "/sign-up/organisation")
    mobile = next_mobile()
    response = client.post(
        "/sign-up/organisation",
        data={
            "csrf_token": token,
            "name": "塞上骑行社",
            "kind": "social_group",
            "credit_code": "",
            "mobile": mobile,
            "code": texted_code(client, mobile),
            "password": "ride-2026-ok",
            "consent": "y",
        },
    )
    assert response.status_code == 302
    account = session.scalar(sa.select(User).where(User.mobile == mobile))
    assert account.role == Role.ORGANISATION
    assert (
        session.scalar(sa.select(Organisation.name).where(Organisation.account_id == account.id))
        == "塞上骑行社"
    )


def test_sign_up_errors_are_shown_next_to_the_field_and_nothing_is_written(client, session):
    existing = make_user(session)
    token = csrf_token_from(client, "/sign-up")
    cases = [
        ({"mobile": existing.mobile, "password": "fine-pass-2026"}, 409, "已存在"),
        ({"mobile": "1234", "password": "fine-pass-2026"}, 422, "11"),
        ({"mobile": next_mobile(), "password": "weak"}, 422, "12"),
    ]
    before = session.scalar(sa.select(sa.func.count()).select_from(User))
    for fields, status, fragment in cases:
        response = client.post(
            "/sign-up",
            data={"csrf_token": token, "display_name": "x", "code": "123456", "consent": "y",
                  **fields},
        )  # fmt: skip
        assert response.status_code == status
        html = response.get_data(as_text=True)
        assert 'class="field-error"' in html
        assert fragment in html
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_sign_up_shows_every_error_at_once_and_keeps_what_was_typed(client, session):
    token = csrf_token_from(client, "/sign-up")
    sent = client.post(
        "/sign-up",
        data={"csrf_token": token, "mobile": "1234", "password": "weak", "display_name": "  ",
              "code": ""},
    )  # fmt: skip
    page = sent.get_data(as_text=True)
    assert sent.status_code == 400  # no code typed: the form itself was sent wrong
    for name in ("mobile", "password", "display_name", "code", "consent"):
        block = page.split(f'name="{name}"', 1)[1].split("</div>", 1)[0]
        assert 'class="field-error"' in block, name
    assert "请输入 11 位中国大陆手机号" in page and "请设置 12 至 128 个字符的密码" in page
    assert 'value="1234"' in page  # what was typed stays (the password is never sent back)
    assert 'value="weak"' not in page
    assert session.scalar(sa.select(User).where(User.mobile == "1234")) is None


def test_sign_in_and_out(client, session):
    user = make_user(session)
    token = csrf_token_from(client, "/sign-in")
    response = client.post(
        "/sign-in", data={"csrf_token": token, "mobile": user.mobile, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/me").status_code == 200
    token = csrf_token_from(client, "/me")
    client.post("/sign-out", data={"csrf_token": token})
    assert client.get("/me").status_code == 302


def test_wrong_password_and_unknown_account_are_told_plainly(client, session):
    user = make_user(session)
    token = csrf_token_from(client, "/sign-in")
    for mobile, password in ((user.mobile, "wrong-pass-9"), (next_mobile(), PASSWORD)):
        response = client.post(
            "/sign-in", data={"csrf_token": token, "mobile": mobile, "password": password}
        )
        assert response.status_code == 401
        assert "手机号或密码不正确" in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def test_missing_or_wrong_csrf_token_is_refused_with_a_readable_page(client, session):
    mobile = next_mobile()
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post(
            "/sign-up",
            data={"display_name": "x", "mobile": mobile, "password": "fine-pass-2026", **data},
        )
        assert response.status_code == 400
        assert "刷新" in response.get_data(as_text=True)
    assert session.scalar(sa.select(User).where(User.mobile == mobile)) is None


def test_an_organisation_invites_and_the_resident_joins_on_their_page(client, session):
    from tests.factories import log_in

    org = make_user(session, Role.ORGANISATION, display_name="银川骑行俱乐部")
    resident = make_user(session, display_name="李骑行")
    session.commit()
    log_in(client, org)
    token = csrf_token_from(client, "/organisation")
    for mobile in (resident.mobile, next_mobile()):  # registered or not: the same answer
        sent = client.post(
            "/organisation", data={"csrf_token": token, "mobile": mobile}, follow_redirects=True
        )
        page = sent.get_data(as_text=True)
        assert sent.status_code == 200 and f"{mobile[:3]}****{mobile[-4:]}" in page
        assert "李骑行" not in page

    log_in(client, resident)
    home = client.get("/me").get_data(as_text=True)
    assert "银川骑行俱乐部" in home
    accept = re.search(r'action="(/me/invitations/\d+/accept)"', home).group(1)
    joined = client.post(
        accept, data={"csrf_token": csrf_token_from(client, "/me")}, follow_redirects=True
    )
    assert 'action="/me/organisations/' in joined.get_data(as_text=True)

    log_in(client, org)
    assert "李骑行" in client.get("/organisation").get_data(as_text=True)


def test_unknown_page_is_a_readable_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "不存在" in response.get_data(as_text=True)
