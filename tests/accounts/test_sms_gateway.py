"""The http sender against a fake SMS gateway the test starts: a signed JSON request per code, and
its failures (timeout, 5xx, refusal), each a clear message with no code left valid."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from app import context as edge
from app.accounts.models import OneTimeCode, User
from app.accounts.sms import SenderSettings, SendFailed, SmsLoadError, load_sender
from app.accounts.sms.gateway import HttpSender, signature
from tests.factories import csrf_token_from, next_mobile

KEY = "gateway-test-key"


def test_the_signature_has_a_known_answer():
    """Checked with ``openssl dgst -sha256 -hmac gateway-key``."""
    body = b'{"mobile":"13800138000"}'
    assert signature("gateway-key", 1765100000, body) == (
        "9b58b4ca63a2c5352922dd38b12cb9c9167b349204c3f4e96fb199951b416437"
    )


class FakeGateway:
    """Answers as told: ``ok``, ``slow`` (past the sender's timeout), ``5xx``, ``refuse``
    (``{"ok": false}``) or ``403``; keeps every request it received."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append({"body": body, "headers": dict(self.headers)})
                if gateway.mode == "slow":
                    time.sleep(2)
                status, answer = {
                    "ok": (200, {"ok": True}),
                    "slow": (200, {"ok": True}),
                    "5xx": (502, {"error": "upstream"}),
                    "refuse": (200, {"ok": False, "error": "blocked number"}),
                    "403": (403, {"error": "bad signature"}),
                }[gateway.mode]
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _bind(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms/send"

    def last_code(self) -> str:
        return json.loads(self.received[-1]["body"])["params"]["code"]


def _bind(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A port from TANPUHUI_TEST_PORT_RANGE ("18100-18119") when set, else any free one."""
    low, _, high = os.environ.get("TANPUHUI_TEST_PORT_RANGE", "0-0").partition("-")
    for port in range(int(low), int(high) + 1):
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
        server.daemon_threads = True
        return server
    raise RuntimeError("no free port in TANPUHUI_TEST_PORT_RANGE")


@pytest.fixture
def gateway(app) -> Iterator[FakeGateway]:
    fake = FakeGateway()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    app.config.update(
        SMS_SENDER="http",
        SMS_GATEWAY_URL=fake.url,
        SMS_GATEWAY_KEY=KEY,
        SMS_TEMPLATES={"sign_up": "SMS_001", "sign_in": "SMS_002", "reset": "SMS_003"},
        SMS_GATEWAY_TIMEOUT_SECONDS=1,
        SMS_CODE_LIMIT_PER_NUMBER="10 per minute",
    )
    edge.init_app(app)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    thread.join()


def _request_code(client, mobile: str):
    token = csrf_token_from(client, "/sign-up")
    return client.post("/sign-up/code", data={"csrf_token": token, "mobile": mobile})


def _sign_up(client, mobile: str, code: str):
    data = {"display_name": "小绿", "mobile": mobile, "code": code, "consent": "y"}
    data |= {"password": "bus-rider-2026", "csrf_token": csrf_token_from(client, "/sign-up")}
    return client.post("/sign-up", data=data)


def test_a_code_goes_out_as_a_signed_json_request(client, session, gateway):
    mobile = next_mobile()
    assert _request_code(client, mobile).status_code == 302
    (request,) = gateway.received
    body, headers = request["body"], request["headers"]
    payload = json.loads(body)
    assert payload["mobile"] == mobile and payload["template_id"] == "SMS_001"
    assert payload["sign_name"] == "碳普惠" and len(payload["params"]["code"]) == 6
    assert headers["X-Signature"] == signature(KEY, int(headers["X-Timestamp"]), body)
    assert payload["timestamp"] == int(headers["X-Timestamp"])
    assert _sign_up(client, mobile, gateway.last_code()).status_code == 302
    assert session.scalar(sa.select(User.id).where(User.mobile == mobile)) is not None


@pytest.mark.parametrize("mode", ["slow", "5xx", "refuse", "403"])
def test_a_failed_send_says_so_and_leaves_no_code_valid(client, session, gateway, mode):
    mobile = next_mobile()
    gateway.mode = "ok"
    assert _request_code(client, mobile).status_code == 302
    earlier = gateway.last_code()
    gateway.mode = mode
    response = _request_code(client, mobile)
    assert response.status_code == 503
    assert "短信未能发送" in response.get_data(as_text=True)
    assert gateway.last_code() not in response.get_data(as_text=True)
    live = session.scalar(
        sa.select(sa.func.count())
        .select_from(OneTimeCode)
        .where(OneTimeCode.mobile == mobile, OneTimeCode.used_at.is_(None))
    )
    assert live == 0
    # Neither the code the gateway may have texted nor the earlier one signs anybody up.
    for code in {earlier, gateway.last_code()}:
        assert _sign_up(client, mobile, code).status_code == 400
    assert session.scalar(sa.select(User.id).where(User.mobile == mobile)) is None


def test_the_sender_refuses_to_start_without_its_gateway():
    with pytest.raises(SmsLoadError, match="SMS_GATEWAY_URL"):
        load_sender("http", SenderSettings(gateway_key="k"))
    with pytest.raises(SmsLoadError, match="SMS_GATEWAY_KEY"):
        load_sender("http", SenderSettings(gateway_url="https://sms.example/send"))
    with pytest.raises(SmsLoadError, match="no installed package"):
        load_sender("carrier-pigeon", SenderSettings())


def test_a_purpose_without_a_template_is_not_sent():
    sender = HttpSender(SenderSettings(gateway_url="http://127.0.0.1:9/", gateway_key="k"))
    with pytest.raises(SendFailed, match="no template"):
        sender.send("13800138000", "123456", "sign_in")
