"""The simulated bank's webhook endpoint keeps what verifies and refuses what does not."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from app import clock
from app.banks import cli
from app.banks.simulator import receiving_webhooks
from app.webhooks.delivery import body_of, signed_headers
from app.webhooks.models import new_signing_secret

#: A port of the range these tests may use.
PORT = 18262


def test_the_bank_keeps_signed_webhooks_and_refuses_tampered_ones():
    secret = new_signing_secret()
    payload = {"type": "grant.revoked", "timestamp": "2026-12-07T02:00:00+00:00",
               "data": {"client_id": "bank_1", "grant_id": 7}}  # fmt: skip
    body = body_of(payload)
    headers = signed_headers(secret, "grant.revoked.7", clock.now(), body) | {
        "content-type": "application/json"
    }
    url = f"http://127.0.0.1:{PORT}/hooks"
    with receiving_webhooks(PORT, secret) as inbox:
        assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 204
        tampered = body.replace(b'"grant_id":7', b'"grant_id":8')
        assert requests.post(url, data=tampered, headers=headers, timeout=5).status_code == 400
        other = signed_headers(new_signing_secret(), "grant.revoked.7", clock.now(), body)
        assert requests.post(url, data=body, headers=other, timeout=5).status_code == 400
        assert requests.post(url, data=body, timeout=5).status_code == 400
    assert inbox.verified == [payload]
    assert inbox.refused == 3


@pytest.mark.parametrize("secret", ["", "whsec_", "not-a-whsec-secret"])
def test_a_secret_that_is_no_standard_webhooks_secret_is_refused_before_listening(secret):
    with pytest.raises(ValueError, match="whsec_"), receiving_webhooks(PORT, secret):
        pass


def test_simulate_bank_lists_the_webhooks_received_during_its_visit(monkeypatch):
    secret = new_signing_secret()
    payload = {"type": "grant.revoked", "timestamp": "2026-12-07T02:00:00+00:00",
               "data": {"client_id": "bank_1", "grant_id": 7}}  # fmt: skip

    def visit_while_the_platform_sends_one(*_args):  # type: ignore[no-untyped-def]
        body = body_of(payload)
        headers = signed_headers(secret, "grant.revoked.7", clock.now(), body)
        requests.post(f"http://127.0.0.1:{PORT}/", data=body, headers=headers, timeout=5)
        requests.post(f"http://127.0.0.1:{PORT}/", data=b"{}", headers=headers, timeout=5)

    monkeypatch.setattr(cli, "wait_until_up", lambda _url: True)
    monkeypatch.setattr(cli, "_visit", visit_while_the_platform_sends_one)
    options = ["--receive-webhooks", str(PORT), "--listen-seconds", "1"]
    answer = CliRunner().invoke(
        cli.simulate_bank_command, options, env={"TANPUHUI_BANK_WEBHOOK_SECRET": secret}
    )
    assert answer.exit_code == 0, answer.output
    assert 'webhook verified: grant.revoked {"client_id": "bank_1", "grant_id": 7}' in answer.output
    assert "webhooks: 1 verified, 1 refused" in answer.output
    refused = CliRunner().invoke(cli.simulate_bank_command, [*options, "--webhook-secret", "guess"])
    assert refused.exit_code == 1 and "whsec_" in refused.output
