"""Outbound webhooks: partners' endpoints, the events they subscribe to, and the outbox.

An event and one delivery per subscribed endpoint are written in the transaction of what they
announce (the transactional outbox); a scheduled job sends the deliveries and records each attempt.
"""

from __future__ import annotations

import base64
import enum
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum
from app.sealing import SealedString

#: What the endpoints' signing secrets are sealed for (app.sealing).
WEBHOOK_SECRET_PURPOSE = b"tanpuhui webhook secrets v1"


class EventType(enum.StrEnum):
    """The events a partner may subscribe to; the type is the payload's ``type``."""

    REDEMPTION_CONFIRMED = "redemption.confirmed"
    REDEMPTION_REVERSED = "redemption.reversed"
    VOUCHER_USED = "voucher.used"
    GRANT_REVOKED = "grant.revoked"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SUCCEEDED = "succeeded"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt of the schedule failed, or the endpoint was disabled


def new_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class WebhookEndpoint(Base):
    """A URL a merchant or bank registered to be told about its events."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = ({"comment": "Partners' webhook endpoints and the events each subscribes to"},)

    id: Mapped[intpk]
    merchant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("merchants.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2048), comment="Where deliveries are POSTed")
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(
        sa.JSON, comment='Subscribed event types, e.g. ["redemption.confirmed"]'
    )
    secret: Mapped[str] = mapped_column(
        SealedString(WEBHOOK_SECRET_PURPOSE),
        default=new_signing_secret,
        comment="Standard Webhooks signing secret (whsec_…), shown once; sealed",
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[created_at]
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEvent(Base):
    """Something that happened to a partner's business, once: its ``event_id`` is unique."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        {"comment": "Events announced to partners' endpoints (the outbox's messages)"},
    )

    id: Mapped[intpk]
    event_id: Mapped[str] = mapped_column(
        sa.String(100),
        unique=True,
        comment="Stable id, e.g. redemption.confirmed.42: sent as webhook-id, so an event "
        "emitted twice is stored and delivered once",
    )
    merchant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("merchants.id"), index=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(comment="The JSON body every delivery sends")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event to one endpoint: retried on its schedule until acknowledged or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "endpoint_id"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The worker's queue: pending deliveries by when they are due.
        sa.Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        {"comment": "The outbox: one row per event and endpoint, with its state"},
    )

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("webhook_events.id"))
    endpoint_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("webhook_endpoints.id"), index=True
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0, comment="Attempts made so far")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the worker tries next; empty once settled"
    )
    settled_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it succeeded or was given up"
    )
    created_at: Mapped[created_at]


class WebhookAttempt(Base):
    """One HTTP request of a delivery and how the endpoint answered."""

    __tablename__ = "webhook_attempts"
    __table_args__ = ({"comment": "Every attempt to deliver a webhook, with the answer"},)

    id: Mapped[intpk]
    delivery_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("webhook_deliveries.id"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(
        sa.String(20),
        comment="acknowledged, http_error, redirect, timeout, unreachable or refused_address",
    )
    status_code: Mapped[int | None] = mapped_column(comment="The HTTP status; empty without one")
    duration_ms: Mapped[int] = mapped_column(comment="Milliseconds until the answer or failure")
    response_excerpt: Mapped[str] = mapped_column(
        sa.String(500), default="", comment="The answer's first characters, for the partner"
    )
