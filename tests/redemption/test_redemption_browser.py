"""The whole redemption in headless chromium, with the demo's resident, car park and offer.

The resident opens the offer and shows the QR code; the test reads the code from a screenshot
with a real QR decoder (zxing-cpp), the cashier's page submits it and confirms, and the
resident's page then shows the confirmation and the new balance without a reload.
"""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from app.demo import DEMO_PASSWORD
from tests.browser.conftest import browser_page, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def fits(page) -> bool:
    """No horizontal scroll on the phone."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def sign_in(page, base: str, mobile: str) -> None:
    page.goto(base + "/sign-in")
    page.get_by_label("手机号").fill(mobile)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/*")


def test_resident_shows_qr_cashier_scans_and_both_see_the_result(live_server, browser_page):  # noqa: F811
    resident = browser_page
    sign_in(resident, live_server, "13800000001")
    resident.goto(live_server + "/offers")
    resident.get_by_role("link", name="停车 60 分钟免费").first.click()
    resident.locator("#use-offer").click()
    resident.wait_for_url("**/qr")
    assert resident.locator("#qr-balance").inner_text() == "2,000"
    assert fits(resident)

    picture = resident.locator("#qr-figure").screenshot()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(picture)))
    assert len(decoded) == 1
    token = decoded[0].text
    assert token.startswith("TPH1:")

    context = resident.context.browser.new_context(viewport={"width": 390, "height": 844})
    cashier = context.new_page()
    try:
        sign_in(cashier, live_server, "13600000001")
        cashier.goto(live_server + "/merchant/scan")
        assert fits(cashier)
        cashier.locator("#token").fill(token)
        cashier.get_by_role("button", name="核验兑换码").click()
        assert "500" in cashier.locator(".facts").inner_text()
        assert "张*绿" in cashier.locator(".facts").inner_text()
        assert fits(cashier)
        cashier.locator("#confirm-redemption").click()
        assert "兑换成功" in cashier.locator("h1").inner_text()
    finally:
        context.close()

    resident.locator("#qr-outcome").wait_for(state="visible", timeout=10_000)
    assert "500" in resident.locator("#qr-message").inner_text()
    assert resident.locator("#qr-balance").inner_text() == "1,500"
    assert resident.locator("#qr-voucher-code").inner_text()
    assert resident.console_errors == []
