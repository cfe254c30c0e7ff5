"""Activities in: data partners and their keys, linked identifiers, activities and evidence."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum


class ActivitySource(enum.StrEnum):
    PARTNER = "partner"
    SELF_REPORT = "self_report"


class ActivityStatus(enum.StrEnum):
    HELD = "held"  # waits for its identifier to be linked, or its holder's consent
    VERIFIED = "verified"  # credited
    FLAGGED = "flagged"  # waits for a reviewer
    REJECTED = "rejected"  # not credited; ``reasons`` say why
    NO_REDUCTION = "no_reduction"  # checked and quantified: it avoided nothing, earns nothing
    EXPIRED = "expired"  # held past its window; purged to a tombstone


class DataPartner(Base):
    """A transit operator, bike-share firm, utility or recycling network reporting activities."""

    __tablename__ = "data_partners"
    __table_args__ = ({"comment": "Organisations that push activities through the signed API"},)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    allowed_kinds: Mapped[list[str]] = mapped_column(
        sa.JSON, comment="Activity kind codes this partner may send (declared by methodologies)"
    )
    created_at: Mapped[created_at]
    created_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))


class PartnerKey(Base):
    """A signing key of a partner. Several may be active at once, so a rotation overlaps.

    The Standard Webhooks secret is needed to verify an HMAC, so it cannot be stored as a hash: it
    is stored encrypted (AES-GCM, key derived from SECRET_KEY, bound to ``key_id``) and shown to
    the bureau once, when the key is made.
    """

    __tablename__ = "partner_keys"
    __table_args__ = ({"comment": "Partner signing keys (key id public, secret encrypted)"},)

    id: Mapped[intpk]
    partner_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("data_partners.id"), index=True)
    key_id: Mapped[str] = mapped_column(
        sa.String(40), unique=True, comment="Public key id the partner sends in X-Partner-Key"
    )
    secret_ciphertext: Mapped[str] = mapped_column(
        sa.Text, comment="AES-GCM ciphertext of the whsec_ secret (key derived from SECRET_KEY)"
    )
    created_at: Mapped[created_at]
    created_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="From then on the key verifies nothing"
    )
    revoked_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))


class PartnerMessage(Base):
    """The first answer to a signed request, returned again when its webhook-id is reused."""

    __tablename__ = "partner_messages"
    __table_args__ = (
        sa.UniqueConstraint("partner_id", "message_id"),
        sa.Index("ix_partner_messages_created_at", "created_at"),  # for the purge
        {"comment": "Answered webhook-ids per partner, with the answer given"},
    )

    id: Mapped[intpk]
    partner_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("data_partners.id"))
    message_id: Mapped[str] = mapped_column(sa.String(255), comment="The webhook-id header")
    status_code: Mapped[int | None] = mapped_column(comment="HTTP status of the first answer")
    response_body: Mapped[str | None] = mapped_column(
        sa.Text, comment="The first answer's JSON body, byte for byte"
    )
    created_at: Mapped[created_at]


class LinkedIdentifier(Base):
    """A card, account or meter a participant linked; only its keyed hash is kept."""

    __tablename__ = "linked_identifiers"
    __table_args__ = ({"comment": "Identifiers linked to participants, as keyed hashes only"},)

    id: Mapped[intpk]
    participant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    identifier_kind: Mapped[str] = mapped_column(
        sa.String(40),
        comment="The identifier kind's code, as a methodology declares it (checked at start-up)",
    )
    identifier_hash: Mapped[str] = mapped_column(
        sa.String(64),
        unique=True,
        comment="HMAC-SHA256 (hex) of 'kind:identifier' under IDENTIFIER_HASH_KEY; never the value",
    )
    label: Mapped[str | None] = mapped_column(sa.String(64), comment="The resident's own name")
    created_at: Mapped[created_at]


class EvidenceFile(Base):
    """A receipt photo or PDF a resident uploaded; the bytes live on disk, named by their hash."""

    __tablename__ = "evidence_files"
    __table_args__ = (
        sa.CheckConstraint("size_bytes > 0", name="not_empty"),
        {"comment": "Self-report evidence stored under EVIDENCE_DIR by SHA-256"},
    )

    id: Mapped[intpk]
    owner_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True, comment="Hex SHA-256; file name")
    content_type: Mapped[str] = mapped_column(sa.String(32), comment="Decided by magic bytes")
    size_bytes: Mapped[int] = mapped_column(comment="File size in bytes")
    created_at: Mapped[created_at]


class Activity(Base):
    """One reported action and what became of it: held, verified, flagged, rejected or no reduction.

    A partner activity is unique per (partner, external id) however often it is sent. While
    ``credit_fingerprint`` is set the activity is credited, and the unique index on it lets the
    same real trip be credited only once whoever reports it.
    """

    __tablename__ = "activities"
    __table_args__ = (
        sa.UniqueConstraint("partner_id", "external_id"),
        sa.CheckConstraint(
            "(source = 'partner') = (partner_id IS NOT NULL AND external_id IS NOT NULL)",
            name="partner_rows_have_external_id",
        ),
        sa.CheckConstraint(
            "status IN ('held', 'expired') OR participant_id IS NOT NULL",
            name="matched_unless_held",
        ),
        sa.CheckConstraint(
            "(status = 'held') = (identifier_hash IS NOT NULL AND held_until IS NOT NULL)",
            name="held_waits_for_identifier",
        ),
        sa.CheckConstraint(
            "credit_fingerprint IS NULL OR status = 'verified'", name="only_credited_hold_slot"
        ),
        sa.Index("ix_activities_participant_occurred", "participant_id", "occurred_at"),
        # Partial indexes: only the few rows the queries look for are indexed, so the bulk
        # insert of verified activities does not pay for them.
        sa.Index(
            "ix_activities_flagged",
            "id",
            postgresql_where=sa.text("status = 'flagged'"),
            sqlite_where=sa.text("status = 'flagged'"),
        ),
        sa.Index(
            "ix_activities_held_identifier",
            "identifier_hash",
            postgresql_where=sa.text("identifier_hash IS NOT NULL"),
            sqlite_where=sa.text("identifier_hash IS NOT NULL"),
        ),
        sa.Index(
            "ix_activities_held_until",
            "held_until",
            postgresql_where=sa.text("held_until IS NOT NULL"),
            sqlite_where=sa.text("held_until IS NOT NULL"),
        ),
        {"comment": "Reported low-carbon actions and their verification outcome"},
    )

    id: Mapped[intpk]
    source: Mapped[ActivitySource] = mapped_column(str_enum(ActivitySource, "activity_source"))
    partner_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("data_partners.id"))
    external_id: Mapped[str | None] = mapped_column(
        sa.String(128), comment="The partner's own id of the activity"
    )
    kind: Mapped[str] = mapped_column(
        sa.String(64), comment="Activity kind code, as its methodology declares it"
    )
    participant_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="Empty while held for an unlinked identifier"
    )
    identifier_hash: Mapped[str | None] = mapped_column(
        sa.String(64), comment="While held: the keyed hash of the identifier awaited"
    )
    held_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="While held: purged after this instant"
    )
    link_id: Mapped[int | None] = mapped_column(
        BigId, comment="The link a partner's activity was matched by, whose consent it needs"
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When the action started")
    ends_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a trip ended (start + duration), for overlapping trips"
    )
    quantities: Mapped[dict[str, Any]] = mapped_column(
        sa.JSON, comment="Quantities as reported (km, minutes, kg …); emptied when purged"
    )
    status: Mapped[ActivityStatus] = mapped_column(str_enum(ActivityStatus, "activity_status"))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(
        sa.JSON, comment="Checks that fired: code, severity, message (zh/en) or message args"
    )
    evidence_url: Mapped[str | None] = mapped_column(
        sa.String(500), comment="Link to the partner's own evidence"
    )
    evidence_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("evidence_files.id"))
    reduction_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("reductions.id"), unique=True
    )
    credit_fingerprint: Mapped[str | None] = mapped_column(
        sa.String(64),
        unique=True,
        comment="Participant + kind + time bucket + quantities of a credited non-trip activity",
    )
    created_at: Mapped[created_at]
    decided_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it was verified or rejected"
    )
    reviewed_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    review_note: Mapped[str | None] = mapped_column(sa.Text, comment="The reviewer's reason")
