"""In a real browser: sign up with a texted code, link a card and withdraw a partner's consent,
then sign in with a code. Codes are read from the development outbox page, as a developer does."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from app import context
from app.activities import partners
from app.audit.services import SYSTEM
from app.db import db
from tests.conftest import create_test_database, drop_test_database, make_app

pytestmark = pytest.mark.browser

MOBILE = "13812345678"


def _server(app) -> BaseWSGIServer:
    """A port from TANPUHUI_TEST_PORT_RANGE ("18100-18119") when set, else any free one."""
    low, _, high = os.environ.get("TANPUHUI_TEST_PORT_RANGE", "0-0").partition("-")
    for port in range(int(low), int(high) + 1):
        try:
            return make_server("127.0.0.1", port, app, threaded=True)
        except OSError:
            continue
    raise RuntimeError("no free port in TANPUHUI_TEST_PORT_RANGE")


@pytest.fixture(scope="module")
def city_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Demo data and a bus operator that reports transit cards."""
    database = create_test_database("sqlite", tmp_path_factory.mktemp("browser-sms"))
    app = make_app(database, SERVER_NAME=None, SMS_CODE_LIMIT_PER_NUMBER="5 per minute")
    with app.app_context():
        from app import demo

        with db.unit_of_work() as session:
            demo.seed(session)
            partners.register_partner(
                session, SYSTEM, name="银川公交集团", allowed_kinds=["bus_ride"],
                known_kinds=context.partner_kinds(), secret_key=app.config["SECRET_KEY"],
            )  # fmt: skip
    server = _server(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    drop_test_database(database)


def _code_from_outbox(page, server: str) -> str:
    outbox = page.context.new_page()
    outbox.goto(server + "/dev/sms-outbox")
    code = outbox.locator("td.sms-code").first.inner_text()
    outbox.close()
    return code


def test_sign_up_by_code_withdraw_a_consent_and_sign_in_by_code(
    city_server, browser_page, tmp_path
):
    page = browser_page
    shots = os.environ.get("TANPUHUI_SCREENSHOTS") or str(tmp_path)
    page.goto(city_server + "/sign-up")
    page.get_by_label("手机号").fill(MOBILE)
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_load_state()
    assert "验证码已发送至 138****5678" in page.locator("body").inner_text()
    assert page.get_by_label("手机号").input_value() == MOBILE
    code = _code_from_outbox(page, city_server)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_label("昵称").fill("王小骑")
    page.get_by_label("密码").fill("cycling-every-day")
    page.get_by_label("我已阅读并同意隐私政策").check()
    page.screenshot(path=f"{shots}/sign-up-by-code.png", full_page=True)
    page.get_by_role("button", name="创建我的账号").click()
    page.wait_for_url("**/me")
    assert "王小骑" in page.locator("h1").inner_text()

    page.goto(city_server + "/me/links")
    assert "银川公交集团" in page.locator("body").inner_text()
    page.locator("#kind").select_option("transit_card")
    page.get_by_label("号码", exact=True).fill("6401 2345 6789")
    page.get_by_label("我同意上面列出的合作方").check()
    page.get_by_role("button", name="绑定").click()
    page.wait_for_load_state()
    assert "6401" not in page.content()
    page.screenshot(path=f"{shots}/linked.png", full_page=True)
    page.goto(city_server + "/me/consents")
    assert "银川公交集团" in page.locator("body").inner_text()
    assert "6401" not in page.content()
    page.get_by_role("button", name="撤回同意").click()
    page.wait_for_load_state()
    body = page.locator("body").inner_text()
    assert "已撤回同意" in body and "撤回于" in body
    assert page.get_by_role("button", name="撤回同意").count() == 0
    page.screenshot(path=f"{shots}/consent-withdrawn.png", full_page=True)

    page.goto(city_server + "/me/account")  # 我的: where residents sign out
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state()
    page.goto(city_server + "/sign-in")
    page.get_by_role("link", name="验证码登录").click()
    page.get_by_label("手机号").fill(MOBILE)
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_load_state()
    page.get_by_label("短信验证码").fill(_code_from_outbox(page, city_server))
    page.screenshot(path=f"{shots}/sign-in-by-code.png", full_page=True)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me")
    assert "王小骑" in page.locator("h1").inner_text()
    assert page.console_errors == []
