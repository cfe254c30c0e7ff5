"""A bureau reviewer's first sign-in in a real browser: password, then the QR code of a new
authenticator and its first code, then the recovery codes; the next sign-in asks for a code and
refuses one used already (#20)."""

from __future__ import annotations

import pyotp
import pytest

from app.demo import DEMO_PASSWORD
from tests.browser.staff import sign_in
from tests.browser.test_smoke import no_horizontal_scroll

pytestmark = pytest.mark.browser

REVIEWER = "13900000002"


def _password(page, live_server: str) -> None:
    page.goto(live_server + "/sign-in")
    page.get_by_label("手机号").fill(REVIEWER)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/sign-in/second-factor")


def test_a_reviewer_enrols_and_signs_in_with_a_code(live_server, browser_page, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _password(page, live_server)
    assert page.locator("h1").inner_text() == "设置身份验证器"
    qr = page.locator(".qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 120
    secret = page.locator("code.secret").inner_text()
    page.screenshot(path=str(tmp_path / "enrol.png"), full_page=True)
    field = page.get_by_label("身份验证器中的验证码，或一个恢复码")
    field.fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="确认并登录").click()
    assert page.get_by_role("alert").first.inner_text() == "验证码不正确。请使用最新的验证码。"
    code = pyotp.TOTP(secret).now()
    page.get_by_label("身份验证器中的验证码，或一个恢复码").fill(code)
    page.get_by_role("button", name="确认并登录").click()
    assert page.locator("h1").inner_text() == "您的恢复码"
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.screenshot(path=str(tmp_path / "recovery-codes.png"), full_page=True)
    page.get_by_role("link", name="我已保存，继续").click()
    page.goto(live_server + "/bureau/")
    assert page.url.endswith("/bureau/")

    page.context.clear_cookies()
    _password(page, live_server)
    assert page.locator("h1").inner_text() == "登录第二步"
    page.get_by_label("身份验证器中的验证码，或一个恢复码").fill(code)  # the same code again
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").first.inner_text() == (
        "此验证码已使用过。请等待下一个验证码。"
    )
    page.screenshot(path=str(tmp_path / "code-reused.png"), full_page=True)
    page.get_by_label("身份验证器中的验证码，或一个恢复码").fill(codes[0])
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert "/sign-in" not in page.url
    # Only the two refusals' own status (401), nothing blocked by the content security policy.
    assert [error for error in page.console_errors if "401" not in error] == []
    print("screenshots in", tmp_path)


def test_a_resident_asks_for_a_copy_and_to_close_then_keeps_the_account(
    live_server, browser_page, tmp_path
):
    page = browser_page
    sign_in(page, live_server, "13800000001")
    page.goto(live_server + "/me/privacy")
    assert page.locator("h1").inner_text() == "您的数据"
    page.get_by_role("button", name="生成副本").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="下载").is_visible()
    page.get_by_role("button", name="注销我的账户").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="保留我的账户").is_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "privacy-closing.png"), full_page=True)
    page.get_by_role("button", name="保留我的账户").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="注销我的账户").is_visible()
    page.goto(live_server + "/me/security")
    assert page.locator("h1").inner_text() == "会话和 API 令牌"
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "security.png"), full_page=True)
    assert page.console_errors == []
    print("screenshots in", tmp_path)
