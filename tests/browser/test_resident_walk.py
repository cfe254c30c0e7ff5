"""A resident's whole walk in Chromium, on a phone (390×844) and a desktop (1280×800), in Chinese
and English: landing, sign-up, home, wallet, an activity, link a card, self-report, offers, the QR
code and my vouchers. Each step is checked by axe-core for serious or critical violations and
saved as a screenshot in the test's folder."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import clock
from app.db import db
from app.demo import DEMO_PASSWORD
from tests.browser.axe import serious_violations
from tests.browser.resident_data import credit_rides
from tests.conftest import create_test_database, drop_test_database, make_app

pytestmark = pytest.mark.browser

RESIDENT = "13800000001"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.fixture(scope="module")
def city_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo city, its resident with three weeks of credited bus rides."""
    database = create_test_database("sqlite", tmp_path_factory.mktemp("walk"))
    app = make_app(database, SERVER_NAME=None)
    with app.app_context():
        from app import demo

        with db.unit_of_work() as session:
            demo.seed(session)
        credit_rides(app, RESIDENT, clock.now())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    drop_test_database(database)


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


class Walk:
    """Goes from step to step, saving each as a screenshot and checking it fits the screen."""

    def __init__(self, page, base: str, folder: Path, prefix: str) -> None:
        self.page, self.base, self.folder, self.prefix = page, base, folder, prefix
        self.steps: list[str] = []
        self.problems: list[str] = []  # axe-core's serious or critical violations, per step

    def step(self, name: str, path: str | None = None) -> None:
        if path is not None:
            self.page.goto(self.base + path)
        self.page.wait_for_load_state()
        assert self.page.locator("h1").first.is_visible(), name
        assert _fits(self.page), f"{name} scrolls sideways"
        self.page.screenshot(path=str(self.folder / f"{self.prefix}-{name}.png"), full_page=True)
        self.problems += [f"{name}: {violation}" for violation in serious_violations(self.page)]
        self.steps.append(name)


def touch(page, size: str, target) -> None:
    """A finger's tap on the phone, a mouse click on the desktop."""
    if size == "phone":
        target.tap()
    else:
        target.click()


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_a_resident_walks_through_every_page(city_server, chromium_path, tmp_path, size, language):
    from playwright.sync_api import sync_playwright

    width, height = SIZES[size]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="zh-CN" if language == "zh" else "en-US",
            has_touch=size == "phone",
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        if language == "en":
            page.goto(city_server + "/language/en")
        walk = Walk(page, city_server, tmp_path, f"{size}-{language}")
        walk.step("landing", "/")
        assert page.locator("html").get_attribute("lang") == ("zh-CN" if language == "zh" else "en")
        walk.step("sign-up", "/sign-up")
        page.goto(city_server + "/sign-in")
        page.locator("input[name=mobile]").fill(RESIDENT)
        page.locator("input[name=password]").fill(DEMO_PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/me")
        walk.step("home")
        assert "kg" in page.locator(".carbon-number").inner_text()
        tabs = page.locator(".tabbar a")
        assert tabs.count() == 4
        for n in range(4):
            box = tabs.nth(n).bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44
        readout = page.locator("#home-chart-readout")
        before = readout.inner_text()
        touch(page, size, page.locator("#home-chart .chart-day").nth(27))
        assert readout.inner_text() != before and "g CO₂" in readout.inner_text()
        walk.step("wallet", "/wallet")
        readout = page.locator("#month-chart-readout")
        touch(page, size, page.locator("#month-chart .chart-day").first)
        first_day = readout.inner_text()
        assert first_day.split(" · ")[0].endswith("-01")
        page.locator("#month-chart svg").press("ArrowRight")  # the keyboard moves a day on
        assert readout.inner_text().split(" · ")[0].endswith("-02")
        walk.step("wallet-day-shown")
        page.goto(city_server + "/activities")
        page.locator(".activity a").first.click()
        walk.step("activity")
        assert page.locator(".trace").is_visible()
        walk.step("link-a-card", "/me/links")
        walk.step("self-report", "/activities/report")
        assert page.locator("input[name=occurred_at]").input_value()  # starts at now
        page.locator("input[name=evidence]").set_input_files(
            {"name": "big.png", "mimeType": "image/png", "buffer": b"\x89PNG" + b"\0" * 5_242_877}
        )  # one byte over 5 MB: refused before it is sent
        assert page.locator(".field-error").is_visible()
        assert page.locator("input[name=evidence]").input_value() == ""
        walk.step("self-report-too-large")
        page.locator("input[name=evidence]").set_input_files(
            {"name": "ok.png", "mimeType": "image/png", "buffer": b"\x89PNG" + b"\0" * 5_242_876}
        )  # exactly 5 MB: kept
        assert not page.locator(".field-error").is_visible()
        assert page.locator("input[name=evidence]").input_value().endswith("ok.png")
        walk.step("offers", "/offers")
        page.locator(".offer-card", has_text=re.compile("停车|parking")).first.click()
        walk.step("offer")
        page.locator("#use-offer").click()
        page.wait_for_url("**/qr")
        walk.step("qr")
        assert page.locator("#qr-figure svg").is_visible()
        walk.step("my-vouchers", "/vouchers")
        page.locator(".tabbar a").nth(3).click()
        walk.step("me")
        assert page.locator("form.sign-out button").bounding_box()["height"] >= 44
        context.close()
        browser.close()
    assert errors == []
    assert walk.problems == []
    assert len(walk.steps) == 14
    print(f"screenshots: {tmp_path}")
