"""``tanpuhui simulate-bank`` plays a bank over real HTTP, with Authlib's client, end to end."""

from __future__ import annotations

import json
import stat

from click.testing import CliRunner

from app.banks.cli import simulate_bank_command
from tests.banks.live import live_platform

PORT = 18140


def test_simulate_bank_registers_consents_reads_and_verifies(tmp_path):
    kept = tmp_path / "bank.json"
    with live_platform(tmp_path, PORT) as url:
        runner = CliRunner()
        first = runner.invoke(
            simulate_bank_command, ["--url", url, "--credentials-file", str(kept)]
        )
        assert first.exit_code == 0, first.output
        assert "playing the demo bank bank_demo" in first.output
        assert "the resident allowed the bank on the consent page" in first.output
        assert "statement verified with key st-" in first.output
        assert "refreshed" in first.output
        saved = json.loads(kept.read_text())
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        # Next time the same client is used, nothing is registered again.
        second = runner.invoke(
            simulate_bank_command, ["--url", url, "--credentials-file", str(kept)]
        )
        assert second.exit_code == 0, second.output
        assert "playing the demo bank" not in second.output
        assert json.loads(kept.read_text()) == saved
        wrong = runner.invoke(
            simulate_bank_command,
            ["--url", url, "--client-id", saved["client_id"], "--client-secret", "guess"],
        )
        assert wrong.exit_code == 1
        assert "invalid_client" in wrong.output
