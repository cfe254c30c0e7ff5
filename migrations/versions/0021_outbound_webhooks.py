"""outbound webhooks: partners' endpoints, events, the outbox of deliveries and their attempts;
financial institutions as a kind of merchant

- webhook_endpoints: URLs a merchant or bank registered, the events each subscribes to, and the
  Standard Webhooks signing secret (sealed like the voucher keys).
- webhook_events: one row per event, unique by its event id (sent as webhook-id).
- webhook_deliveries: the outbox, written in the transaction of the event; the worker's queue is
  a partial index of the pending ones by when they are due.
- webhook_attempts: every HTTP attempt and how the endpoint answered.
- merchants.kind gains "financial": banks publish and fund bank rewards (rewards.bank).
- redemptions.funded_fen: what a bank funds for a redemption of its reward (the city's subsidy
  does not pay for it); redemptions.voucher_used_at: when the merchant reported its voucher used.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db
from app import sealing

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CREATED = "When the row was created (UTC)"
_OLD_KINDS = ("parking", "transit", "shop", "restaurant", "other")
_NEW_KINDS = ("parking", "transit", "shop", "restaurant", "financial", "other")
_PENDING = sa.text("status = 'pending'")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.drop_constraint(batch.f("ck_merchants_merchant_kind"), type_="check")
        batch.create_check_constraint("merchant_kind", _kinds(_NEW_KINDS))
    with op.batch_alter_table("redemptions") as batch:
        batch.add_column(
            sa.Column(
                "voucher_used_at",
                app.db.UTCDateTime(),
                nullable=True,
                comment="When the merchant's system reported the voucher used; empty if not",
            )
        )
        batch.add_column(
            sa.Column(
                "funded_fen",
                sa.Integer(),
                nullable=True,
                comment="What the partner (a bank) funds for this redemption, in fen; empty "
                "when the city's subsidy pays the merchant",
            )
        )

    op.create_table(
        "webhook_events",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column(
            "event_id",
            sa.String(length=100),
            nullable=False,
            comment="Stable id, e.g. redemption.confirmed.42: sent as webhook-id, so an event "
            "emitted twice is stored and delivered once",
        ),
        sa.Column("merchant_id", _BIG_ID, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column(
            "payload", sa.JSON(), nullable=False, comment="The JSON body every delivery sends"
        ),
        sa.Column("occurred_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_webhook_events_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_events_event_id")),
        comment="Events announced to partners' endpoints (the outbox's messages)",
    )
    with op.batch_alter_table("webhook_events") as batch:
        batch.create_index(batch.f("ix_webhook_events_merchant_id"), ["merchant_id"], unique=False)

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("merchant_id", _BIG_ID, nullable=False),
        sa.Column(
            "url", sa.String(length=2048), nullable=False, comment="Where deliveries are POSTed"
        ),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column(
            "event_types",
            sa.JSON(),
            nullable=False,
            comment='Subscribed event types, e.g. ["redemption.confirmed"]',
        ),
        sa.Column(
            "secret",
            sa.String(length=sealing.SEALED_LENGTH),
            nullable=False,
            comment="Standard Webhooks signing secret (whsec_…), shown once; sealed",
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", _BIG_ID, nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False, comment=_CREATED),
        sa.Column("disabled_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_webhook_endpoints_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_webhook_endpoints_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        comment="Partners' webhook endpoints and the events each subscribes to",
    )
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.create_index(
            batch.f("ix_webhook_endpoints_merchant_id"), ["merchant_id"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("event_id", _BIG_ID, nullable=False),
        sa.Column("endpoint_id", _BIG_ID, nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "succeeded",
                "failed",
                name="webhook_delivery_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="Attempts made so far"),
        sa.Column(
            "next_attempt_at",
            app.db.UTCDateTime(),
            nullable=True,
            comment="When the worker tries next; empty once settled",
        ),
        sa.Column(
            "settled_at",
            app.db.UTCDateTime(),
            nullable=True,
            comment="When it succeeded or was given up",
        ),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False, comment=_CREATED),
        sa.CheckConstraint(
            "attempts >= 0", name=op.f("ck_webhook_deliveries_attempts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_webhook_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "event_id", "endpoint_id", name=op.f("uq_webhook_deliveries_event_id_endpoint_id")
        ),
        comment="The outbox: one row per event and endpoint, with its state",
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.create_index(
            "ix_webhook_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        )
        batch.create_index(
            batch.f("ix_webhook_deliveries_endpoint_id"), ["endpoint_id"], unique=False
        )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("delivery_id", _BIG_ID, nullable=False),
        sa.Column("attempted_at", app.db.UTCDateTime(), nullable=False),
        sa.Column(
            "outcome",
            sa.String(length=20),
            nullable=False,
            comment="acknowledged, http_error, redirect, timeout, unreachable or refused_address",
        ),
        sa.Column(
            "status_code", sa.Integer(), nullable=True, comment="The HTTP status; empty without one"
        ),
        sa.Column(
            "duration_ms",
            sa.Integer(),
            nullable=False,
            comment="Milliseconds until the answer or failure",
        ),
        sa.Column(
            "response_excerpt",
            sa.String(length=500),
            nullable=False,
            comment="The answer's first characters, for the partner",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
        comment="Every attempt to deliver a webhook, with the answer",
    )
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.create_index(
            batch.f("ix_webhook_attempts_delivery_id"), ["delivery_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("webhook_events")
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_column("funded_fen")
        batch.drop_column("voucher_used_at")
    with op.batch_alter_table("merchants") as batch:
        batch.drop_constraint(batch.f("ck_merchants_merchant_kind"), type_="check")
        batch.create_check_constraint("merchant_kind", _kinds(_OLD_KINDS))
