"""An organisation signs up as a resident does: the contact's number proved by a texted code and
the privacy notice accepted (its version, time and channel recorded), on the page and the API."""

from __future__ import annotations

import sqlalchemy as sa

from app import context
from app.accounts.models import Consent, OneTimeCode, Organisation, User
from app.accounts.roles import Role
from tests.factories import csrf_token_from, make_user, next_mobile, texted_code_by_api

PAGE = "/sign-up/organisation"


def _text_a_code(client, mobile: str) -> str | None:
    """Press "text me a code" on the organisation's page, as its contact does."""
    token = csrf_token_from(client, PAGE)
    sent = client.post(f"{PAGE}/code", data={"csrf_token": token, "mobile": mobile})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(PAGE)
    return context.of(client.application).sms_sender.latest_code(mobile, "sign_up")


def _sign_up(client, mobile: str, texted: str | None, **fields: str):
    data = {"name": "塞上骑行社", "kind": "social_group", "credit_code": "", "mobile": mobile}
    data |= {"code": texted or "", "password": "ride-2026-ok", "consent": "y", **fields}
    return client.post(PAGE, data={"csrf_token": csrf_token_from(client, PAGE), **data})


def _written(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (User, Organisation, Consent)
    )


def test_an_organisation_signs_up_on_the_page_with_a_code_and_consents(client, session):
    mobile = next_mobile()
    page = client.get(PAGE).get_data(as_text=True)
    assert "获取验证码" in page
    assert "我已阅读并同意隐私政策" in page
    code = _text_a_code(client, mobile)
    assert code is not None and len(code) == 6
    response = _sign_up(client, mobile, code)
    assert response.status_code == 302
    account = session.scalar(sa.select(User).where(User.mobile == mobile))
    assert account.role == Role.ORGANISATION
    (consent,) = session.scalars(sa.select(Consent).where(Consent.user_id == account.id))
    assert (consent.purpose, consent.action, consent.channel) == (
        "privacy_notice", "granted", "web"
    )  # fmt: skip
    assert consent.notice_version == client.application.config["PRIVACY_NOTICE_VERSION"]
    used = session.scalar(sa.select(OneTimeCode).where(OneTimeCode.mobile == mobile))
    assert used.used_at is not None


def test_bad_organisation_sign_ups_are_refused_and_write_nothing(client, session):
    mobile, other = next_mobile(), next_mobile()
    code = _text_a_code(client, mobile)
    other_code = _text_a_code(client, other)
    taken = make_user(session, Role.ORGANISATION)
    session.commit()
    before = _written(session)
    cases = [
        ({"code": ""}, 400, "has-error"),  # no code
        ({"code": "000000" if code != "000000" else "111111"}, 400, "验证码不正确"),
        ({"code": other_code}, 400, "验证码不正确"),  # texted to another number
        ({"consent": ""}, 400, "请阅读并同意隐私政策"),
        ({"credit_code": "91640100MA76XKQX2L"}, 422, "统一社会信用代码无效"),
        ({"mobile": taken.mobile}, 409, "已存在"),
    ]
    for fields, status, text in cases:
        response = _sign_up(client, fields.pop("mobile", mobile), code, **fields)
        assert response.status_code == status, (fields, response.status_code)
        assert text in response.get_data(as_text=True), fields
        assert _written(session) == before
    # The refusals before the code was checked left it valid: the corrected form goes through.
    assert _sign_up(client, mobile, code).status_code == 302


def test_an_organisation_signs_up_through_the_api_with_a_code_and_consents(client, session):
    mobile = next_mobile()
    body = {"mobile": mobile, "password": "green-org-2026", "name": "银川骑行俱乐部",
            "kind": "social_group", "accept_privacy_notice": True}  # fmt: skip
    before = _written(session)
    missing = client.post("/api/v1/organisations", json=body)
    assert missing.status_code == 422 and "code" in missing.get_json()["errors"]
    code = texted_code_by_api(client, mobile)
    refused = client.post(
        "/api/v1/organisations",
        json={**body, "code": code, "accept_privacy_notice": False},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 400 and refused.get_json()["reason"] == "consent_required"
    assert "privacy notice" in refused.get_json()["message"]
    wrong = client.post("/api/v1/organisations", json={**body, "code": "12345"})
    assert wrong.status_code == 400 and wrong.get_json()["reason"] == "wrong_code"
    assert _written(session) == before
    created = client.post("/api/v1/organisations", json={**body, "code": code})
    assert created.status_code == 201, created.get_json()
    account = session.scalar(sa.select(User).where(User.mobile == mobile))
    (consent,) = session.scalars(sa.select(Consent).where(Consent.user_id == account.id))
    assert (consent.channel, consent.notice_version) == (
        "api", client.application.config["PRIVACY_NOTICE_VERSION"]
    )  # fmt: skip
    reused = client.post("/api/v1/organisations", json={**body, "code": code})
    assert reused.status_code == 409  # the number is taken now; the code is spent anyway


def test_an_organisation_sign_up_shows_every_refusal_together_and_keeps_the_input(client, session):
    mobile = next_mobile()
    code = _text_a_code(client, mobile)
    taken = make_user(session, Role.ORGANISATION)
    session.commit()
    before = _written(session)
    response = _sign_up(
        client, taken.mobile, code, credit_code="91640100MA76XKQX2L", password="123", consent=""
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422  # several rules refused together
    for expected in ("已存在", "统一社会信用代码无效", "请阅读并同意隐私政策"):
        assert expected in page, expected
    assert 'value="91640100MA76XKQX2L"' in page and 'value="塞上骑行社"' in page  # as typed
    assert _written(session) == before
    assert _sign_up(client, mobile, code).status_code == 302  # the code is still good
