"""A bank's consent in Chromium: the resident signs in, reads the consent page, clicks allow;
the bank (Authlib's client over HTTP) gets tokens and a statement; the resident withdraws it."""

from __future__ import annotations

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from app.banks import simulator, statements
from app.demo import DEMO_PASSWORD
from tests.banks.live import DEMO_RESIDENT, live_platform

pytestmark = pytest.mark.browser
PORT = 18141
SHOTS = "bank-consent"


def test_consent_clicked_in_chromium_then_withdrawn(browser_page, tmp_path):
    page = browser_page
    with live_platform(tmp_path, PORT) as url:
        credentials = simulator.BankCredentials(
            simulator.DEMO_CLIENT_ID, simulator.DEMO_CLIENT_SECRET
        )
        bank = OAuth2Session(
            credentials.client_id,
            credentials.client_secret,
            scope="carbon.summary carbon.statement",
            redirect_uri=simulator.REDIRECT_URI,
            code_challenge_method="S256",
        )
        verifier = generate_token(48)
        authorize_url, _state = bank.create_authorization_url(
            f"{url}/oauth/authorize", code_verifier=verifier
        )
        arrived: list[str] = []

        def bank_callback(route):  # type: ignore[no-untyped-def]
            arrived.append(route.request.url)
            route.fulfill(status=200, content_type="text/plain", body="bank received the code")

        page.route(simulator.REDIRECT_URI + "*", bank_callback)
        page.goto(authorize_url)
        page.wait_for_url("**/sign-in**")
        page.get_by_label("手机号").fill(DEMO_RESIDENT)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/oauth/authorize**")
        heading = page.locator("h1").inner_text()
        assert heading == "允许 宁夏绿色银行 读取您的碳账户记录吗？"
        body = page.locator("main").inner_text()
        assert "积分余额" in body and "不含出行明细" in body and "180 天" in body
        page.screenshot(path=str(tmp_path / f"{SHOTS}-consent.png"), full_page=True)
        page.get_by_role("button", name="同意授权").click()
        page.wait_for_url(simulator.REDIRECT_URI + "*")
        assert len(arrived) == 1 and "code=" in arrived[0]
        assert page.console_errors == []  # the redirect to the bank passed the CSP

        bank.fetch_token(
            f"{url}/oauth/token", authorization_response=arrived[0], code_verifier=verifier
        )
        answer = bank.get(
            f"{url}/api/v1/consented/carbon-statement", params={"from": "2026-01", "to": "2026-12"}
        )
        assert answer.status_code == 200, answer.text
        jwks = bank.get(f"{url}/.well-known/jwks.json").json()
        assert statements.verify(answer.json()["statement"], jwks)["holder"]["name"] == "张小绿"

        page.goto(f"{url}/me/authorised-apps")
        assert "宁夏绿色银行" in page.locator("main").inner_text()
        page.screenshot(path=str(tmp_path / f"{SHOTS}-apps.png"), full_page=True)
        page.get_by_role("button", name="撤回同意").click()
        page.wait_for_load_state()
        assert "已不能再读取" in page.get_by_role("status").first.inner_text()
        page.screenshot(path=str(tmp_path / f"{SHOTS}-withdrawn.png"), full_page=True)
        assert bank.get(f"{url}/api/v1/consented/carbon-summary").status_code == 401
