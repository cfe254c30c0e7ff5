"""The worker against a real endpoint on a local port: retries, backoff, signatures, answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from standardwebhooks import Webhook

from app.ledger import services as ledger
from app.redemption.models import Redemption, RedemptionStatus
from app.webhooks.delivery import MAX_ATTEMPTS, RETRY_DELAYS
from app.webhooks.models import DeliveryStatus
from tests.merchants.support import api_headers
from tests.webhooks.receiver import free_port, receiving
from tests.webhooks.support import (
    T0,
    attempts,
    deliver_at,
    deliveries,
    make_bank_scene,
    redeem,
    register_endpoint,
)


@pytest.fixture
def scene(session):
    return make_bank_scene(session)


def test_an_endpoint_that_fails_twice_then_succeeds(app, client, session, scene) -> None:
    with receiving(500, 500, 200) as receiver:
        with time_machine.travel(T0, tick=False):
            endpoint = register_endpoint(client, scene.manager, receiver.url)
            redeemed = redeem(client, scene.resident, scene.offer)
        assert redeemed.status_code == 201
        [queued] = deliveries(session)
        assert (queued.status, queued.attempts, queued.next_attempt_at) == (
            DeliveryStatus.PENDING, 0, T0,
        )  # fmt: skip

        first = deliver_at(app, T0)
        assert first.counts == {"attempts": 1, "acknowledged": 0, "given_up": 0}
        [waiting] = deliveries(session)
        assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 1)
        assert waiting.next_attempt_at == T0 + RETRY_DELAYS[0]

        # One second before the second attempt is due nothing is sent.
        early = deliver_at(app, T0 + RETRY_DELAYS[0] - timedelta(seconds=1))
        assert early.counts["attempts"] == 0 and len(receiver.received) == 1

        deliver_at(app, T0 + RETRY_DELAYS[0])
        second_due = T0 + RETRY_DELAYS[0] + RETRY_DELAYS[1]
        assert deliveries(session)[0].next_attempt_at == second_due
        third = deliver_at(app, second_due)
        assert third.counts == {"attempts": 1, "acknowledged": 1, "given_up": 0}
        again = deliver_at(app, second_due + timedelta(hours=12))
        assert again.counts["attempts"] == 0

    [done] = deliveries(session)
    assert (done.status, done.attempts, done.next_attempt_at) == (DeliveryStatus.SUCCEEDED, 3, None)
    assert done.settled_at == second_due
    assert [(a.outcome, a.status_code) for a in attempts(session)] == [
        ("http_error", 500), ("http_error", 500), ("acknowledged", 200),
    ]  # fmt: skip
    assert len(receiver.received) == 3
    # Every attempt: the same id and body, its own timestamp, a valid signature.
    ids = {request.headers["webhook-id"] for request in receiver.received}
    assert ids == {f"redemption.confirmed.{redeemed.get_json()['id']}"}
    assert len({request.body for request in receiver.received}) == 1
    timestamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
    assert timestamps == [
        int(T0.timestamp()),
        int((T0 + RETRY_DELAYS[0]).timestamp()),
        int(second_due.timestamp()),
    ]
    for request, at in zip(receiver.received, (T0, T0 + RETRY_DELAYS[0], second_due), strict=True):
        with time_machine.travel(at, tick=False):
            body = Webhook(endpoint["secret"]).verify(request.body, request.headers)
        assert request.path == "/hooks/tanpuhui"
        assert request.headers["content-type"] == "application/json"
    assert body["type"] == "redemption.confirmed"
    data = body["data"]
    assert data["redemption_id"] == redeemed.get_json()["id"]
    assert data["voucher_code"] == redeemed.get_json()["fulfilment"]["code"]
    assert data["funded_fen"] == 1000 and data["benefit"]["cashback_fen"] == 1000
    assert "resident_id" not in data and scene.resident.display_name not in request.body.decode()

    # The partner sees the delivery and its three attempts in the API and on its page.
    listed = client.get(
        "/api/v1/merchant/webhooks/deliveries", headers=api_headers(client, scene.manager)
    ).get_json()["items"]
    assert [a["outcome"] for a in listed[0]["attempt_list"]] == [
        "http_error", "http_error", "acknowledged",
    ]  # fmt: skip
    assert listed[0]["status"] == "succeeded" and listed[0]["attempts"] == 3
    one = client.get(
        f"/api/v1/merchant/webhooks/deliveries/{listed[0]['id']}",
        headers=api_headers(client, scene.manager),
    ).get_json()
    assert one["attempt_list"] == listed[0]["attempt_list"]


def test_a_timeout_and_a_redirect_are_retried_and_the_redirect_not_followed(
    app, client, session, scene
) -> None:
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    with receiving(("sleep", 2.5), ("redirect", "/elsewhere"), 204) as receiver:
        with time_machine.travel(T0, tick=False):
            register_endpoint(client, scene.manager, receiver.url)
            assert redeem(client, scene.resident, scene.offer).status_code == 201
        deliver_at(app, T0)
        deliver_at(app, T0 + RETRY_DELAYS[0])
        deliver_at(app, T0 + RETRY_DELAYS[0] + RETRY_DELAYS[1])
    made = attempts(session)
    assert [(a.outcome, a.status_code) for a in made] == [
        ("timeout", None), ("redirect", 302), ("acknowledged", 204),
    ]  # fmt: skip
    assert 1000 <= made[0].duration_ms < 2500
    assert [request.path for request in receiver.received] == ["/hooks/tanpuhui"] * 3
    assert deliveries(session)[0].status == DeliveryStatus.SUCCEEDED


def test_an_unreachable_endpoint_never_blocks_a_redemption(app, client, session, scene) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hooks"
    with time_machine.travel(T0, tick=False):
        register_endpoint(client, scene.manager, closed)
        redeemed = redeem(client, scene.resident, scene.offer)
    assert redeemed.status_code == 201
    deliver_at(app, T0)
    session.expire_all()
    redemption = session.get(Redemption, redeemed.get_json()["id"])
    assert redemption.status == RedemptionStatus.COMPLETED
    assert ledger.balance(session, scene.resident.id) == 2000 - 800
    [attempt] = attempts(session)
    assert (attempt.outcome, attempt.status_code) == ("unreachable", None)
    assert deliveries(session)[0].status == DeliveryStatus.PENDING


def test_a_delivery_is_given_up_after_the_last_attempt_of_the_schedule(
    app, client, session, scene
) -> None:
    with receiving(503) as receiver:
        with time_machine.travel(T0, tick=False):
            register_endpoint(client, scene.manager, receiver.url)
            redeem(client, scene.resident, scene.offer)
        at = T0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            deliver_at(app, at)
            [delivery] = deliveries(session)
            assert delivery.attempts == attempt
            if attempt < MAX_ATTEMPTS:  # one before the last: still waiting
                assert delivery.status == DeliveryStatus.PENDING
                at = delivery.next_attempt_at
        assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
        assert at - T0 == sum(RETRY_DELAYS, timedelta())
        deliver_at(app, at + timedelta(days=2))
    assert len(receiver.received) == MAX_ATTEMPTS


def test_a_private_address_is_refused_before_sending_outside_the_embedded_mode(
    app, client, session, scene
) -> None:
    with receiving(200) as receiver:
        with time_machine.travel(T0, tick=False):
            register_endpoint(client, scene.manager, receiver.url)
            redeem(client, scene.resident, scene.offer)
        app.config["WEBHOOK_ALLOW_PRIVATE_URLS"] = False
        deliver_at(app, T0)
    assert receiver.received == []
    assert [a.outcome for a in attempts(session)] == ["refused_address"]
