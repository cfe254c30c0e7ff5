"""A partner's endpoints and what became of its deliveries: the rules behind the API and pages.

Only the merchant's manager registers or disables an endpoint (audited). The signing secret is
returned once, when the endpoint is registered; afterwards it is only used to sign.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.api.pagination import decode_id_cursor, encode_cursor
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import DomainError, NotFound
from app.webhooks.addresses import check_url
from app.webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

#: Enabled endpoints one merchant may have: a partner needs a few, never many.
MAX_ENDPOINTS = 5
MAX_DESCRIPTION = 200


@dataclass(frozen=True, slots=True)
class Registered:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def endpoints_of(session: Session, merchant_id: int) -> list[WebhookEndpoint]:
    """The merchant's endpoints, enabled first, newest first."""
    return list(
        session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.merchant_id == merchant_id)
            .order_by(WebhookEndpoint.enabled.desc(), WebhookEndpoint.id.desc())
        )
    )


def register(
    session: Session,
    actor: Actor,
    *,
    merchant_id: int,
    url: str,
    event_types: Sequence[str],
    description: str,
    allow_private: bool,
    now: datetime,
) -> Registered:
    """Register an endpoint for the merchant's events; returns it with its new secret."""
    url = check_url(url, allow_private=allow_private)
    chosen = _event_types(event_types)
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(
            "description_too_long",
            _l("Keep the description to at most 200 characters."),
            field="description",
        )
    enabled = session.scalar(
        sa.select(sa.func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.merchant_id == merchant_id, WebhookEndpoint.enabled.is_(True))
    )
    if (enabled or 0) >= MAX_ENDPOINTS:
        raise DomainError(
            "too_many_endpoints",
            _l("A merchant may have at most %(count)s endpoints: disable one first.",
               count=MAX_ENDPOINTS),
            status=409,
        )  # fmt: skip
    endpoint = WebhookEndpoint(
        merchant_id=merchant_id,
        url=url,
        description=description,
        event_types=chosen,
        enabled=True,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session, actor, "webhook_endpoint.register", "webhook_endpoint", endpoint.id,
        {"merchant_id": merchant_id, "url": url, "event_types": chosen},
    )  # fmt: skip
    return Registered(endpoint, endpoint.secret)


def _event_types(event_types: Sequence[str]) -> list[str]:
    known = {member.value for member in EventType}
    chosen = sorted(set(event_types))
    if not chosen or not set(chosen) <= known:
        raise DomainError(
            "invalid_event_types",
            _l("Choose one or more of the events: %(events)s.", events=", ".join(sorted(known))),
            field="event_types",
        )
    return chosen


def disable(
    session: Session, actor: Actor, *, merchant_id: int, endpoint_id: int, now: datetime
) -> WebhookEndpoint:
    """Stop sending to an endpoint; its pending deliveries are given up (audited)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.merchant_id != merchant_id:
        raise NotFound("webhook_endpoint")
    if not endpoint.enabled:
        return endpoint
    endpoint.enabled = False
    endpoint.disabled_at = now
    session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.FAILED, next_attempt_at=None, settled_at=now)
    )
    session.flush()
    audit.record(
        session, actor, "webhook_endpoint.disable", "webhook_endpoint", endpoint.id,
        {"merchant_id": merchant_id, "url": endpoint.url},
    )  # fmt: skip
    return endpoint


def _deliveries(merchant_id: int) -> sa.Select[Any]:
    return (
        sa.select(WebhookDelivery, WebhookEvent, WebhookEndpoint.url)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookEndpoint.merchant_id == merchant_id)
    )


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A delivery with its event and every attempt, oldest attempt first."""

    id: int
    event_id: str
    event_type: str
    endpoint_id: int
    endpoint_url: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    settled_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]
    attempt_list: list[WebhookAttempt]


def deliveries_page(
    session: Session, merchant_id: int, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The merchant's deliveries, newest first, each with its attempts."""
    stmt = _deliveries(merchant_id).order_by(WebhookDelivery.id.desc()).limit(limit + 1)
    if cursor:
        stmt = stmt.where(WebhookDelivery.id < decode_id_cursor(cursor))
    rows = session.execute(stmt).all()[: limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    attempts = _attempts_of(session, [row[0].id for row in rows])
    items = [_view(*row, attempts.get(row[0].id, [])) for row in rows]
    return {"items": items, "next_cursor": encode_cursor([items[-1].id]) if more else None}


def delivery(session: Session, merchant_id: int, delivery_id: int) -> DeliveryView:
    row = session.execute(_deliveries(merchant_id).where(WebhookDelivery.id == delivery_id)).first()
    if row is None:
        raise NotFound("webhook_delivery")
    return _view(*row, _attempts_of(session, [delivery_id]).get(delivery_id, []))


def _attempts_of(session: Session, ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {}
    if not ids:
        return found
    for attempt in session.scalars(
        sa.select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(ids))
        .order_by(WebhookAttempt.id)
    ):
        found.setdefault(attempt.delivery_id, []).append(attempt)
    return found


def _view(
    row: WebhookDelivery, event: WebhookEvent, url: str, attempts: list[WebhookAttempt]
) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        event_id=event.event_id,
        event_type=event.type,
        endpoint_id=row.endpoint_id,
        endpoint_url=url,
        status=row.status.value,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        settled_at=row.settled_at,
        created_at=row.created_at,
        payload=event.payload,
        attempt_list=attempts,
    )
