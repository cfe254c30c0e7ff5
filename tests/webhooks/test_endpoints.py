"""Registering and disabling endpoints: who may, what a URL may be, the limits, and the outbox."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import time_machine

from app.audit.models import AuditEntry
from app.webhooks import events
from app.webhooks.endpoints import MAX_ENDPOINTS
from app.webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.merchants.support import api_headers
from tests.webhooks.support import T0, deliveries, make_bank_scene, redeem, register_endpoint

URL = "/api/v1/merchant/webhooks/endpoints"


@pytest.fixture
def scene(session):
    return make_bank_scene(session)


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_manager_registers_an_endpoint_and_sees_its_secret_once(client, session, scene) -> None:
    headers = api_headers(client, scene.manager)
    answer = client.post(
        URL,
        json={"url": "https://bank.example/hooks", "event_types": ["redemption.reversed",
              "redemption.confirmed", "redemption.confirmed"], "description": "核心系统"},
        headers=headers,
    )  # fmt: skip
    assert answer.status_code == 201
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) == 50
    assert body["event_types"] == ["redemption.confirmed", "redemption.reversed"]
    listed = client.get(URL, headers=headers).get_json()
    assert [e["url"] for e in listed] == ["https://bank.example/hooks"]
    assert "secret" not in listed[0]
    stored = session.scalar(sa.select(WebhookEndpoint))
    assert stored.secret == body["secret"]  # sealed in the table, read back by the worker
    raw = session.execute(sa.text("SELECT secret FROM webhook_endpoints")).scalar_one()
    assert body["secret"] not in raw
    entry = session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "webhook_endpoint.register")
    )
    assert entry.actor_id == scene.manager.id and "secret" not in str(entry.summary)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://bank.example/hooks", "event_types": ["voucher.used"]}, "url"),
        ({"url": "https://user:pw@bank.example/h", "event_types": ["voucher.used"]}, "url"),
        ({"url": "https://bank.example/h#x", "event_types": ["voucher.used"]}, "url"),
        ({"url": "https://bank.example:99999/h", "event_types": ["voucher.used"]}, "url"),
        ({"url": "https://", "event_types": ["voucher.used"]}, "url"),
        ({"url": "https://bank.example/" + "a" * 2048, "event_types": ["voucher.used"]}, "url"),
        ({"url": "https://bank.example/h", "event_types": []}, "event_types"),
        ({"url": "https://bank.example/h", "event_types": ["everything"]}, "event_types"),
        ({"url": "https://bank.example/h"}, "event_types"),
        ({"url": "https://bank.example/h", "event_types": ["voucher.used"],
          "description": "x" * 201}, "description"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_nothing_written(client, session, scene, body, field) -> None:
    answer = client.post(URL, json=body, headers=api_headers(client, scene.manager))
    assert answer.status_code == 422
    assert field in str(answer.get_json())
    assert _count(session, WebhookEndpoint) == 0


@pytest.mark.parametrize(
    "url",
    ["http://bank.example/hooks", "https://127.0.0.1/hooks", "https://localhost/hooks",
     "https://10.0.0.5/hooks", "https://[::1]/hooks", "https://169.254.169.254/latest"],
)  # fmt: skip
def test_private_or_plain_http_urls_are_refused_in_production(app, client, session, scene, url):
    app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False
    answer = client.post(
        URL, json={"url": url, "event_types": ["voucher.used"]},
        headers=api_headers(client, scene.manager),
    )  # fmt: skip
    assert answer.status_code == 422
    assert answer.get_json()["reason"] == "invalid_webhook_url"
    assert _count(session, WebhookEndpoint) == 0


def test_at_most_five_enabled_endpoints(client, session, scene) -> None:
    headers = api_headers(client, scene.manager)
    for number in range(MAX_ENDPOINTS):
        body = {"url": f"https://bank.example/{number}", "event_types": ["voucher.used"]}
        assert client.post(URL, json=body, headers=headers).status_code == 201
    sixth = {"url": "https://bank.example/6", "event_types": ["voucher.used"]}
    refused = client.post(URL, json=sixth, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "too_many_endpoints"
    assert _count(session, WebhookEndpoint) == MAX_ENDPOINTS
    first = client.get(URL, headers=headers).get_json()[-1]["id"]
    disabled = client.post(f"{URL}/{first}/disable", headers=headers)
    assert disabled.status_code == 200 and disabled.get_json()["enabled"] is False
    assert client.post(URL, json=sixth, headers=headers).status_code == 201


def test_a_cashier_sees_but_does_not_register_or_disable(client, session, scene) -> None:
    endpoint = register_endpoint(client, scene.manager, "https://bank.example/hooks")
    headers = api_headers(client, scene.cashier)
    body = {"url": "https://bank.example/other", "event_types": ["voucher.used"]}
    assert client.post(URL, json=body, headers=headers).status_code == 403
    assert client.post(f"{URL}/{endpoint['id']}/disable", headers=headers).status_code == 403
    assert [e["id"] for e in client.get(URL, headers=headers).get_json()] == [endpoint["id"]]
    assert _count(session, WebhookEndpoint) == 1


def test_another_merchants_endpoint_and_delivery_are_not_found(client, session, scene) -> None:
    endpoint = register_endpoint(client, scene.manager, "http://127.0.0.1:18179/hooks")
    with time_machine.travel(T0, tick=False):
        redeem(client, scene.resident, scene.offer)
    other = make_bank_scene(session)
    headers = api_headers(client, other.manager)
    [delivery] = deliveries(session)
    assert client.post(f"{URL}/{endpoint['id']}/disable", headers=headers).status_code == 404
    found = client.get(f"/api/v1/merchant/webhooks/deliveries/{delivery.id}", headers=headers)
    assert found.status_code == 404
    assert client.get("/api/v1/merchant/webhooks/deliveries", headers=headers).get_json() == {
        "items": [], "next_cursor": None,
    }  # fmt: skip
    assert session.get(WebhookEndpoint, endpoint["id"]).enabled


def test_disabling_gives_up_the_pending_deliveries(client, session, scene) -> None:
    endpoint = register_endpoint(client, scene.manager, "http://127.0.0.1:18179/hooks")
    with time_machine.travel(T0, tick=False):
        redeem(client, scene.resident, scene.offer)
    headers = api_headers(client, scene.manager)
    assert client.post(f"{URL}/{endpoint['id']}/disable", headers=headers).status_code == 200
    [delivery] = deliveries(session)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 0)
    with time_machine.travel(T0, tick=False):
        redeem(client, scene.resident, scene.offer)
    assert len(deliveries(session)) == 1  # nothing is queued for a disabled endpoint


def test_an_event_is_stored_and_queued_once_per_event_id(session, scene, client) -> None:
    register_endpoint(client, scene.manager, "https://bank.example/a", ["grant.revoked"])
    register_endpoint(client, scene.manager, "https://bank.example/b", ["voucher.used"])
    emitted = [
        events.emit(
            session, merchant_id=scene.bank.id, event_type=EventType.GRANT_REVOKED,
            subject_id="grant-7", data={"grant_id": "grant-7"}, now=T0,
        )
        for _ in range(2)
    ]  # fmt: skip
    assert emitted == [1, 0]
    [event] = session.scalars(sa.select(WebhookEvent)).all()
    assert (event.event_id, event.type) == ("grant.revoked.grant-7", "grant.revoked")
    assert event.payload == {
        "type": "grant.revoked", "timestamp": T0.isoformat(), "data": {"grant_id": "grant-7"},
    }  # fmt: skip
    assert _count(session, WebhookDelivery) == 1
    # No endpoint subscribes to this one: nothing is stored.
    assert events.emit(
        session, merchant_id=scene.bank.id, event_type=EventType.REDEMPTION_REVERSED,
        subject_id=1, data={}, now=T0,
    ) == 0  # fmt: skip
    assert _count(session, WebhookEvent) == 1


def test_a_reversal_is_announced(client, session, scene) -> None:
    register_endpoint(
        client, scene.manager, "https://bank.example/h",
        ["redemption.confirmed", "redemption.reversed"],
    )  # fmt: skip
    with time_machine.travel(T0, tick=False):
        redeemed = redeem(client, scene.resident, scene.offer).get_json()
        reversed_ = client.post(
            f"/api/v1/merchant/redemptions/{redeemed['id']}/reversal",
            json={"reason": "客户误操作"},
            headers=api_headers(client, scene.manager),
        )
    assert reversed_.status_code == 200
    session.expire_all()
    types = session.scalars(sa.select(WebhookEvent.type).order_by(WebhookEvent.id)).all()
    assert types == ["redemption.confirmed", "redemption.reversed"]
    reversal = session.scalars(sa.select(WebhookEvent).order_by(WebhookEvent.id)).all()[-1]
    assert reversal.payload["data"]["reason"] == "客户误操作"
    assert reversal.event_id == f"redemption.reversed.{redeemed['id']}"
