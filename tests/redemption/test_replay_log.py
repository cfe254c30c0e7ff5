"""The replay warning keeps its token, merchant and staff fields in the structured log."""

from __future__ import annotations

import json
import logging

from app.observability import JsonFormatter
from tests.merchants.support import api_headers, issue


def confirm(client, headers, token: str):
    return client.post("/api/v1/merchant/redemptions", json={"token": token}, headers=headers)


def as_json(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter().format(record))


def test_the_replay_warning_keeps_token_merchant_and_staff(app, client, session, scene, caplog):
    caplog.set_level(logging.WARNING, logger="app.redemption.services")
    issued = issue(app, session, scene.resident, scene.offer)
    staff = api_headers(client, scene.cashier)
    assert confirm(client, staff, issued.signed).status_code == 201
    assert confirm(client, staff, issued.signed).status_code == 409
    (replay,) = [r for r in caplog.records if r.getMessage().startswith("replayed")]
    entry = as_json(replay)
    assert (entry["token_id"], entry["merchant"], entry["staff"]) == (
        issued.id,
        scene.merchant.id,
        scene.cashier.id,
    )
