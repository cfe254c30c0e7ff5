"""SMS one-time codes on the pages: sign-up proves the number, sign-in and password reset by code,
and every bad input (wrong, expired, reused codes, a code for another number, too many requests)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from app import context
from app.accounts import codes, services
from app.accounts.models import CodePurpose, Consent, OneTimeCode, User
from app.audit.models import AuditEntry
from tests.factories import PASSWORD, csrf_token_from, log_in, make_user, next_mobile, texted_code

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _sign_up(client, mobile: str, code: str | None, **fields: str):
    data = {"display_name": "小绿", "mobile": mobile, "code": code or "", "consent": "y"}
    data |= {"password": "bus-rider-2026", **fields}
    return client.post("/sign-up", data={"csrf_token": csrf_token_from(client, "/sign-up"), **data})


def _users(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(User))


def test_the_code_hash_has_a_known_answer():
    """Vectors checked with ``openssl dgst -sha256 -hmac``."""
    key = codes.code_key("test-secret-key")
    assert key.hex() == "d45cb52dbdbc1eab52c4d1cbc4855fa60174e542e4a774de3c1520191e15642e"
    assert (
        codes.code_hash(bytes(32), CodePurpose.SIGN_IN, "13800138000", "123456")
        == "9a1256c48f21fab476c1df87dcdeb2c69f579d313140b412c863b66bd214ce6e"
    )


def test_a_resident_signs_up_with_a_texted_code_and_consents(client, session):
    mobile = next_mobile()
    code = texted_code(client, mobile)
    assert code is not None and len(code) == 6 and code.isdigit()
    stored = session.scalar(sa.select(OneTimeCode).where(OneTimeCode.mobile == mobile))
    assert code not in stored.code_hash and stored.used_at is None
    response = _sign_up(client, mobile, code)
    assert response.status_code == 302
    user = session.scalar(sa.select(User).where(User.mobile == mobile))
    assert user.display_name == "小绿"
    (consent,) = session.scalars(sa.select(Consent).where(Consent.user_id == user.id))
    assert (consent.purpose, consent.action, consent.channel) == (
        "privacy_notice", "granted", "web"
    )  # fmt: skip
    assert consent.notice_version == client.application.config["PRIVACY_NOTICE_VERSION"]
    session.refresh(stored)
    assert stored.used_at is not None
    # Reused: the same code signs nobody else up.
    client.post("/sign-out", data={"csrf_token": csrf_token_from(client, "/me")})
    again = _sign_up(client, next_mobile(), code)
    assert again.status_code == 400


def test_sign_up_refuses_bad_codes_and_writes_nothing(client, session):
    mobile, other = next_mobile(), next_mobile()
    code = texted_code(client, mobile)
    other_code = texted_code(client, other)
    before = _users(session)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    cases = [
        (mobile, wrong, 400, "验证码不正确"),  # wrong
        (mobile, "", 400, ""),  # missing
        (mobile, other_code, 400, "验证码不正确"),  # a code for another number
        (mobile, "12ab56", 400, "验证码不正确"),
    ]
    for number, entered, status, fragment in cases:
        response = _sign_up(client, number, entered)
        assert response.status_code == status
        assert fragment in response.get_data(as_text=True)
    no_consent = _sign_up(client, mobile, code, consent="")
    assert no_consent.status_code == 400
    assert "隐私政策" in no_consent.get_data(as_text=True)
    assert _users(session) == before
    # The right code still works after those refusals (fewer than five wrong entries).
    assert _sign_up(client, mobile, code).status_code == 302
    assert _users(session) == before + 1


def test_five_wrong_codes_end_the_code(client, session):
    mobile = next_mobile()
    code = texted_code(client, mobile)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    for _ in range(codes.MAX_FAILED_ATTEMPTS):
        assert _sign_up(client, mobile, wrong).status_code == 400
    assert _sign_up(client, mobile, code).status_code == 400
    assert session.scalar(sa.select(User).where(User.mobile == mobile)) is None


def test_a_code_expires_after_five_minutes_exactly(app, client, session):
    with time_machine.travel(NOW, tick=False) as traveller:
        first, second = next_mobile(), next_mobile()
        code_first = texted_code(client, first)
        traveller.shift(timedelta(seconds=61))
        code_second = texted_code(client, second)
        # Exactly at the expiry instant the code is no longer valid; a second before, it is.
        traveller.move_to(NOW + codes.CODE_LIFETIME)
        assert _sign_up(client, first, code_first).status_code == 400
        traveller.move_to(NOW + timedelta(seconds=61) + codes.CODE_LIFETIME - timedelta(seconds=1))
        assert _sign_up(client, second, code_second).status_code == 302


def test_a_newer_code_replaces_the_older(client, session):
    with time_machine.travel(NOW, tick=False) as traveller:
        mobile = next_mobile()
        old = texted_code(client, mobile)
        traveller.shift(timedelta(minutes=2))
        new = texted_code(client, mobile)
        assert old != new or old is not None
        if old != new:
            assert _sign_up(client, mobile, old).status_code == 400
        assert _sign_up(client, mobile, new).status_code == 302


def test_code_requests_are_limited_per_number_and_address(client, session):
    client.application.config["SMS_CODE_LIMIT_PER_NUMBER"] = "3 per day"
    client.application.config["SMS_CODE_LIMIT_PER_ADDRESS"] = "5 per day"
    sender = context.of(client.application).sms_sender
    mobile = next_mobile()
    token = csrf_token_from(client, "/sign-up")
    statuses = [
        client.post("/sign-up/code", data={"csrf_token": token, "mobile": mobile}).status_code
        for _ in range(4)
    ]
    assert statuses == [302, 302, 302, 429]  # exactly at the limit, then one past it
    assert len([m for m in sender.outbox if m.mobile == mobile]) == 3
    refused = client.post("/sign-up/code", data={"csrf_token": token, "mobile": mobile})
    assert "请求" in refused.get_data(as_text=True) or refused.status_code == 429
    # Another number from the same address: two more, then the address is at its limit.
    others = [next_mobile() for _ in range(3)]
    statuses = [
        client.post("/sign-up/code", data={"csrf_token": token, "mobile": m}).status_code
        for m in others
    ]
    assert statuses == [302, 302, 429]
    assert not any(m.mobile == others[2] for m in sender.outbox)


def test_asking_for_a_code_tells_nobody_whether_a_number_has_an_account(client, session):
    user = make_user(session)
    session.commit()
    sender = context.of(client.application).sms_sender
    unknown = next_mobile()
    pages = []
    for mobile in (user.mobile, unknown):
        token = csrf_token_from(client, "/sign-in/code")
        response = client.post("/sign-in/code/send", data={"csrf_token": token, "mobile": mobile})
        assert response.status_code == 302
        html = client.get("/sign-in/code").get_data(as_text=True)
        html = html.replace(mobile, "NUMBER").replace(services.mask_mobile(mobile), "MASKED")
        pages.append(html.split("<main")[1])
    assert pages[0] == pages[1]
    assert sender.latest_code(unknown, "sign_in") is None
    assert sender.latest_code(user.mobile, "sign_in") is not None
    # A sign-up code for a taken number is not sent either.
    assert texted_code(client, user.mobile, "sign_up") is None


def test_sign_in_with_a_code(client, session):
    user = make_user(session)
    session.commit()
    code = texted_code(client, user.mobile, "sign_in")
    token = csrf_token_from(client, "/sign-in/code")
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    response = client.post(
        "/sign-in/code", data={"csrf_token": token, "mobile": user.mobile, "code": wrong}
    )
    assert response.status_code == 400
    assert client.get("/me").status_code == 302
    response = client.post(
        "/sign-in/code", data={"csrf_token": token, "mobile": user.mobile, "code": code}
    )
    assert response.status_code == 302
    assert client.get("/me").status_code == 200
    # A sign-up code does not sign in, nor a sign-in code used twice.
    client.post("/sign-out", data={"csrf_token": csrf_token_from(client, "/me")})
    token = csrf_token_from(client, "/sign-in/code")
    again = client.post(
        "/sign-in/code", data={"csrf_token": token, "mobile": user.mobile, "code": code}
    )
    assert again.status_code == 400
    assert "验证码不正确" in again.get_data(as_text=True)


def test_reset_a_forgotten_password_with_a_code(app, client, session):
    user = make_user(session)
    session.commit()
    other_browser = app.test_client()
    log_in(other_browser, user)
    assert other_browser.get("/me").status_code == 200
    code = texted_code(client, user.mobile, "reset")
    token = csrf_token_from(client, "/reset-password")
    weak = client.post(
        "/reset-password",
        data={"csrf_token": token, "mobile": user.mobile, "code": code, "new_password": "short"},
    )
    assert weak.status_code == 422
    response = client.post(
        "/reset-password",
        data={"csrf_token": token, "mobile": user.mobile, "code": code,
              "new_password": "a-brand-new-pass-26"},
    )  # fmt: skip
    assert response.status_code == 302
    signed_in = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token_from(client, "/sign-in"), "mobile": user.mobile,
              "password": "a-brand-new-pass-26"},
    )  # fmt: skip
    assert signed_in.status_code == 302
    assert other_browser.get("/me").status_code == 302  # the other session ended
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "password.reset"))
    assert entry.object_id == str(user.id)
    reused = client.post(
        "/reset-password",
        data={"csrf_token": csrf_token_from(client, "/reset-password"), "mobile": user.mobile,
              "code": code, "new_password": "yet-another-pass-26"},
    )  # fmt: skip
    assert reused.status_code == 400
    assert PASSWORD != "a-brand-new-pass-26"


def test_no_code_or_number_in_logs_or_pages_except_the_console_line(client, session, caplog):
    mobile = next_mobile()
    with caplog.at_level(logging.INFO):
        code = texted_code(client, mobile)
        page = client.get("/sign-up").get_data(as_text=True)
        _sign_up(client, mobile, code)
    assert code not in page and mobile not in page.replace(f'value="{mobile}"', "")
    for record in caplog.records:
        if record.name == "tanpuhui.sms.console":
            continue
        text = record.getMessage() + str(getattr(record, "__dict__", ""))
        assert code not in text and mobile not in text


def test_the_outbox_page_shows_codes_in_development_only(client, session):
    mobile = next_mobile()
    code = texted_code(client, mobile)
    page = client.get("/dev/sms-outbox")
    assert page.status_code == 200 and code in page.get_data(as_text=True)
    client.application.config["TANPUHUI_ENV"] = "production"
    assert client.get("/dev/sms-outbox").status_code == 404
