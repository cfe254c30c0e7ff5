"""The methodology pages on a 360 px phone in a real browser, with the demo's approved versions."""

from __future__ import annotations

import pytest

from tests.browser.conftest import browser_page, live_server  # noqa: F401  (fixtures)
from tests.browser.staff import sign_in

pytestmark = pytest.mark.browser


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_public_catalogue_fits_a_phone(live_server, browser_page):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server + "/methodologies")
    assert page.locator("h1").first.inner_text() == "方法学"
    assert fits(page)
    page.get_by_role("link", name="地铁出行").click()
    page.wait_for_url("**/methodologies/metro")
    assert "46.7" in page.locator("main").inner_text()
    assert fits(page)
    assert page.console_errors == []


def test_the_bureau_admin_sees_a_version_on_a_phone(live_server, browser_page):  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live_server, "13900000001")  # the demo admin, with the second factor
    page.goto(live_server + "/bureau/methodologies")
    assert fits(page)
    page.get_by_role("link", name="1.0.0").first.click()
    assert "已批准" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="停用").is_visible()
    assert fits(page)
    page.get_by_role("button", name="以此版本新建草稿").click()
    assert "草稿" in page.locator("main").inner_text()
    assert page.locator("textarea").first.is_visible()  # the station table
    assert fits(page)
    assert page.console_errors == []
