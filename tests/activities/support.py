"""Helpers for activity tests: approved methodologies, partners, signed requests, links."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app import clock
from app import context as edge
from app.accounts.roles import Role
from app.activities import links, partners
from app.audit.services import SYSTEM, Actor
from app.methodology import services as methodology
from tests.factories import make_user

BATCH_URL = "/api/v1/partner/activities"
STATUS_URL = "/api/v1/partner/activities/status"
#: Every test's activities happen on this day (Beijing time), after the versions took effect.
DAY = datetime(2026, 11, 24, 0, 0, tzinfo=UTC) - timedelta(hours=8)


def at(hour: int, minute: int = 0) -> datetime:
    """An instant on the test day, given in Beijing time."""
    return DAY + timedelta(hours=hour, minutes=minute)


def approve_methodologies(app: Flask, session: Session) -> None:
    """Every installed methodology approved with its defaults, in effect since 2026-01-01."""
    submitter = make_user(session, Role.BUREAU_REVIEWER)
    approver = make_user(session, Role.BUREAU_ADMIN)
    methodology.register_and_approve(
        session,
        edge.of(app).methodologies,
        submitter=Actor(submitter.id, submitter.role),
        approver=Actor(approver.id, approver.role),
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        comment="test defaults",
    )
    session.commit()


def make_partner(
    app: Flask, session: Session, kinds: list[str], name: str | None = None
) -> partners.IssuedKey:
    with app.app_context():
        _partner, issued = partners.register_partner(
            session,
            SYSTEM,
            name=name or f"partner-{uuid.uuid4().hex[:6]}",
            allowed_kinds=kinds,
            known_kinds=edge.partner_kinds(),
            secret_key=app.config["SECRET_KEY"],
        )
    session.commit()
    return issued


def link(app: Flask, session: Session, user_id: int, kind: str, number: str) -> Any:
    with app.test_request_context():
        result = links.link(
            session, user_id, kind=kind, identifier=number, label=None,
            identifier_key=edge.identifier_key(), settings=edge.pipeline_settings(),
            channel="web",
        )  # fmt: skip
    session.commit()
    return result


def signed_headers(
    key: partners.IssuedKey,
    body: bytes,
    *,
    message_id: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, str]:
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or clock.now()
    signature = Webhook(key.secret).sign(message_id, timestamp, body.decode())
    return {
        "X-Partner-Key": key.key_id,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def post_batch(
    client: FlaskClient, key: partners.IssuedKey, activities: list[Any], **options: Any
) -> Any:
    body = json.dumps({"activities": activities}).encode()
    headers = signed_headers(key, body, **options)
    return client.post(BATCH_URL, data=body, headers=headers)


def partner_status(client: FlaskClient, key: partners.IssuedKey, external_ids: list[str]) -> Any:
    """The partner's reconciliation answer for these external ids."""
    body = json.dumps({"external_ids": external_ids}).encode()
    return client.post(STATUS_URL, data=body, headers=signed_headers(key, body)).get_json()


def ride(
    external_id: str,
    card: str,
    when: datetime,
    *,
    kind: str = "bus_ride",
    km: str = "8.2",
    minutes: str = "25",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "kind": kind,
        "identifier": card,
        "occurred_at": when.isoformat(),
        "quantities": {"distance_km": km, "duration_minutes": minutes, **extra},
    }


def configure(app: Flask, **settings: object) -> None:
    """Change settings of a running test app and rebuild its context from them."""
    app.config.update(settings)
    edge.init_app(app)
