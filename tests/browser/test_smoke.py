"""The main journey in a real browser: a resident signs in on a phone and sees their home page."""

from __future__ import annotations

import pytest

from app.demo import DEMO_PASSWORD
from tests.browser.staff import sign_in

pytestmark = pytest.mark.browser


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_demo_resident_signs_in_and_sees_home(live_server, browser_page):
    page = browser_page
    page.goto(live_server + "/")
    assert page.locator("h1").first.inner_text() == "低碳生活，有回报"
    assert no_horizontal_scroll(page)
    page.get_by_role("link", name="登录").first.click()
    page.get_by_label("手机号").fill("13800000001")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me")
    assert "张小绿" in page.locator("h1").inner_text()
    assert no_horizontal_scroll(page)
    assert page.console_errors == []  # nothing blocked by the content security policy


@pytest.mark.parametrize(
    "path", ["/", "/sign-in", "/sign-up", "/sign-up/organisation", "/registry"]
)
def test_public_pages_fit_a_360px_phone(live_server, browser_page, path, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server + path)
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "page-360.png"), full_page=True)


def test_wrong_password_is_told_on_the_page(live_server, browser_page):
    page = browser_page
    page.goto(live_server + "/sign-in")
    page.get_by_label("手机号").fill("13800000001")
    page.get_by_label("密码").fill("not-the-password-1")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").first.inner_text() == "手机号或密码不正确。"


def _sign_in(page, live_server, mobile):
    sign_in(page, live_server, mobile)


@pytest.mark.parametrize("width", [390, 1280])
def test_offset_requests_and_the_bureau_queues_fit_phone_and_desktop(
    live_server, browser_page, tmp_path, width
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 844})
    _sign_in(page, live_server, "13700000001")  # the demo organisation, verified by the bureau
    page.goto(live_server + "/organisation/offsets")
    assert page.get_by_label("注销整吨数（二氧化碳当量）").is_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / f"offsets-{width}.png"), full_page=True)
    page.context.clear_cookies()
    _sign_in(page, live_server, "13900000001")  # the demo bureau admin
    for path in ("/bureau/offset-claims", "/bureau/organisations"):
        page.goto(live_server + path)
        assert page.locator("h1").inner_text() in {"碳中和申请", "待核验组织"}
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(tmp_path / f"{path.rsplit('/', 1)[1]}-{width}.png"))
    assert page.console_errors == []


@pytest.mark.parametrize("width", [390, 1280])
def test_the_audit_log_reads_as_names_and_labels(live_server, browser_page, tmp_path, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 844})
    _sign_in(page, live_server, "13900000001")  # the demo bureau admin
    page.goto(live_server + "/bureau/audit")
    assert page.locator("h1").inner_text() == "审计日志"
    assert page.get_by_label("操作人（账号编号或手机号）").is_visible()
    body = page.locator("tbody").inner_text()
    assert "方法学版本已批准" in body and "\\u" not in body
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / f"audit-{width}.png"))
    page.locator("select[name=action]").select_option("methodology.approve")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    assert "action=methodology.approve" in page.url
    assert set(page.locator("tbody tr td:nth-child(3)").all_inner_texts()) <= {
        "方法学版本已批准\nmethodology.approve"
    }
    assert page.console_errors == []
