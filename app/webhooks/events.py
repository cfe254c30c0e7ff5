"""Emitting an event: one call, in the transaction of what the event announces.

The event row and a delivery per enabled endpoint of the merchant subscribed to its type are
written together with the redemption (or reversal, or revoked grant) they announce, so a partner
is told of exactly what was committed, and the request never waits for the partner: the worker
(:mod:`app.webhooks.delivery`) sends them later. An event whose ``event_id`` was already emitted
is not written again (deduplicated by event id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

_events = WebhookEvent.__table__


def event_id_of(event_type: EventType, subject_id: int | str) -> str:
    """The stable id of the event of ``subject_id`` (a redemption, a grant): ``type.subject``."""
    return f"{event_type.value}.{subject_id}"


def emit(
    session: Session,
    *,
    merchant_id: int,
    event_type: EventType,
    subject_id: int | str,
    data: dict[str, Any],
    now: datetime,
) -> int:
    """Announce ``event_type`` about ``subject_id`` to the merchant's subscribed endpoints.

    ``data`` must be JSON-safe; the body sent is ``{"type", "timestamp", "data"}`` as Standard
    Webhooks recommends. Returns the number of deliveries queued (0 when no endpoint subscribes,
    or when the event was emitted before).
    """
    endpoints = session.execute(
        sa.select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.merchant_id == merchant_id, WebhookEndpoint.enabled.is_(True)
        )
    ).all()
    subscribed = [row.id for row in endpoints if event_type.value in row.event_types]
    if not subscribed:
        return 0
    event_id = event_id_of(event_type, subject_id)
    if session.scalar(sa.select(_events.c.id).where(_events.c.event_id == event_id)) is not None:
        return 0
    event = WebhookEvent(
        event_id=event_id,
        merchant_id=merchant_id,
        type=event_type.value,
        payload={"type": event_type.value, "timestamp": now.isoformat(), "data": data},
        occurred_at=now,
    )
    session.add(event)
    session.flush()
    session.add_all(
        WebhookDelivery(
            event_id=event.id,
            endpoint_id=endpoint_id,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        for endpoint_id in subscribed
    )
    session.flush()
    return len(subscribed)
