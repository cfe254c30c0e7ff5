"""Signing in in the browser, staff with their second factor: the first sign-in of a demo staff
account enrols an authenticator; later ones use its recovery codes (a TOTP code is good once per
30 seconds, and the tests sign in more often than that)."""

from __future__ import annotations

import pyotp

from app.demo import DEMO_PASSWORD

#: Recovery codes shown at enrolment, per mobile number, for the server of this test run.
_recovery_codes: dict[str, list[str]] = {}


def sign_in(page, live_server: str, mobile: str, *, screenshots: str | None = None) -> None:
    page.goto(live_server + "/sign-in")
    page.get_by_label("手机号").fill(mobile)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    if "/sign-in/second-factor" not in page.url:
        return
    field = page.get_by_label("身份验证器中的验证码，或一个恢复码")
    secret = page.locator("code.secret")
    if secret.count():
        if screenshots:
            page.screenshot(path=f"{screenshots}-enrol.png", full_page=True)
        field.fill(pyotp.TOTP(secret.inner_text()).now())
        page.get_by_role("button", name="确认并登录").click()
        page.wait_for_load_state()
        _recovery_codes[mobile] = page.locator("ul.recovery-codes code").all_inner_texts()
        if screenshots:
            page.screenshot(path=f"{screenshots}-recovery-codes.png", full_page=True)
        page.get_by_role("link", name="我已保存，继续").click()
    else:
        field.fill(_recovery_codes[mobile].pop())
        page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
