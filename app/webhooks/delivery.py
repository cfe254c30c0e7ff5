"""The worker: send due deliveries, signed with Standard Webhooks, and record every attempt.

A delivery is tried at once, then on Svix's schedule (:data:`RETRY_DELAYS`): 5 seconds, 5 and 30
minutes, 2, 5, 10 and 10 hours; after the eighth failed attempt it is given up. Only a 2xx answer
acknowledges it. A redirect is not followed (the signature names one endpoint) and counts as a
failure, like a 4xx or 5xx answer, a timeout or an unreachable host; each is retried. Every
attempt of a delivery carries the same ``webhook-id`` (the event id) and body, so a receiver
drops repeats; the ``webhook-timestamp`` and signature are those of the attempt.

The job sends a few deliveries per committed step, so each attempt is recorded soon after it is
made, and a failing endpoint only ever delays its own deliveries.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app.webhooks.addresses import resolves_to_public
from app.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

#: Waits before the second, third … attempt (the first is made as soon as the worker runs).
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: What a partner sees of an answer: enough to debug, too little to store anything large.
EXCERPT_CHARACTERS = 500

ACKNOWLEDGED = "acknowledged"
HTTP_ERROR = "http_error"
REDIRECT = "redirect"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
REFUSED_ADDRESS = "refused_address"


@dataclass(frozen=True, slots=True)
class Answer:
    """How an endpoint answered one attempt."""

    outcome: str
    status_code: int | None
    duration_ms: int
    excerpt: str = ""


#: Sends one request: (url, headers, body, timeout in seconds) → the answer.
Send = Callable[[str, Mapping[str, str], bytes, float], Answer]


def body_of(payload: Mapping[str, object]) -> bytes:
    """The bytes sent and signed: compact JSON, the same on every attempt."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(secret: str, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx answer is raised as an HTTPError and recorded as a redirect


#: No proxies from the environment, no redirects followed.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def post(url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> Answer:
    """POST ``body`` to ``url`` and say how it answered; never raises for the endpoint's faults."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - the URL was checked (app.webhooks.addresses): http(s) only
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with _OPENER.open(request, timeout=timeout) as response:
            excerpt = _excerpt(response.read(EXCERPT_CHARACTERS * 4))
            code = response.status
    except urllib.error.HTTPError as error:
        excerpt = _excerpt(error.read(EXCERPT_CHARACTERS * 4) if error.fp else b"")
        outcome = REDIRECT if 300 <= error.code < 400 else HTTP_ERROR
        return Answer(outcome, error.code, took(), excerpt)
    except TimeoutError:
        return Answer(TIMEOUT, None, took())
    except urllib.error.URLError as error:
        outcome = TIMEOUT if isinstance(error.reason, TimeoutError) else UNREACHABLE
        return Answer(outcome, None, took())
    except OSError:
        return Answer(UNREACHABLE, None, took())
    outcome = ACKNOWLEDGED if 200 <= code < 300 else HTTP_ERROR
    return Answer(outcome, code, took(), excerpt)


def _excerpt(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")[:EXCERPT_CHARACTERS]


def is_due(session: Session, now: datetime) -> bool:
    """Whether a delivery waits for an attempt (the scheduler polls this)."""
    return (
        session.scalar(
            sa.select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .limit(1)
        )
        is not None
    )


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    timeout_seconds: float
    allow_private: bool


def deliver_due(
    session: Session,
    *,
    now: Callable[[], datetime],
    settings: WorkerSettings,
    limit: int,
    send: Send = post,
) -> dict[str, int]:
    """Attempt up to ``limit`` due deliveries, oldest due first; counts by outcome.

    Each attempt is timed by ``now()`` when it is made; a delivery is due when its
    ``next_attempt_at`` has passed at the start of the step.
    """
    started = now()
    rows = session.execute(
        sa.select(WebhookDelivery, WebhookEndpoint, WebhookEvent)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= started,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    counts = {"attempts": 0, ACKNOWLEDGED: 0, "given_up": 0}
    for delivery, endpoint, event in rows:
        if not endpoint.enabled:
            _settle(delivery, DeliveryStatus.FAILED, started)
            counts["given_up"] += 1
            continue
        at = now()
        if not settings.allow_private and not resolves_to_public(endpoint.url):
            answer = Answer(REFUSED_ADDRESS, None, 0)
        else:
            body = body_of(event.payload)
            headers = signed_headers(endpoint.secret, event.event_id, at, body)
            answer = send(endpoint.url, headers, body, settings.timeout_seconds)
        _record(session, delivery, answer, at)
        counts["attempts"] += 1
        if delivery.status == DeliveryStatus.SUCCEEDED:
            counts[ACKNOWLEDGED] += 1
        elif delivery.status == DeliveryStatus.FAILED:
            counts["given_up"] += 1
    session.flush()
    return counts


def _record(session: Session, delivery: WebhookDelivery, answer: Answer, at: datetime) -> None:
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=at,
            outcome=answer.outcome,
            status_code=answer.status_code,
            duration_ms=answer.duration_ms,
            response_excerpt=answer.excerpt,
        )
    )
    delivery.attempts += 1
    if answer.outcome == ACKNOWLEDGED:
        _settle(delivery, DeliveryStatus.SUCCEEDED, at)
    elif delivery.attempts >= MAX_ATTEMPTS:
        _settle(delivery, DeliveryStatus.FAILED, at)
    else:
        delivery.next_attempt_at = at + RETRY_DELAYS[delivery.attempts - 1]


def _settle(delivery: WebhookDelivery, status: DeliveryStatus, at: datetime) -> None:
    delivery.status = status
    delivery.next_attempt_at = None
    delivery.settled_at = at
