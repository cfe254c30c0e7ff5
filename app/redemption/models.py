"""Redemption tokens (the QR codes residents show) and the redemptions merchants confirm."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, intpk, str_enum


class RedemptionToken(Base):
    """One QR code shown by a resident for one offer: single-use, valid for a minute.

    ``burned_at`` is set by exactly one conditional UPDATE (``WHERE burned_at IS NULL``), whatever
    the outcome: a token that was refused is spent too, so it cannot be tried again.
    """

    __tablename__ = "redemption_tokens"
    __table_args__ = (
        # The short code is looked up among live tokens, so it only has to be unique among them.
        sa.Index(
            "uq_redemption_tokens_live_code",
            "code",
            unique=True,
            sqlite_where=sa.text("burned_at IS NULL"),
            postgresql_where=sa.text("burned_at IS NULL"),
        ),
        sa.Index("ix_redemption_tokens_code", "code"),
        sa.Index("ix_redemption_tokens_holder_offer", "resident_id", "offer_id", "id"),
        # The purge's candidates only (never scanned, never replayed): it reads no kept token.
        sa.Index(
            "ix_redemption_tokens_unused_expiry",
            "expires_at",
            sqlite_where=sa.text("burned_by_id IS NULL AND replays = 0"),
            postgresql_where=sa.text("burned_by_id IS NULL AND replays = 0"),
        ),
        sa.CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
        sa.CheckConstraint("replays >= 0", name="replays_not_negative"),
        {"comment": "Single-use QR tokens authorising one redemption"},
    )

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="The wallet holder the token is bound to"
    )
    offer_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("offers.id"))
    code: Mapped[str] = mapped_column(
        sa.String(8), comment="8-digit code for manual entry; unique among unburned tokens"
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="Refused from this instant")
    burned_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a merchant used it, successfully or not; empty while live"
    )
    burned_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="The merchant staff who scanned it"
    )
    outcome: Mapped[str | None] = mapped_column(
        sa.String(32), comment="'redeemed', or the reason the redemption was refused"
    )
    replays: Mapped[int] = mapped_column(
        default=0, comment="Attempts to use the token after it was burned (all refused)"
    )
    last_replay_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RedemptionStatus(enum.StrEnum):
    COMPLETED = "completed"
    REVERSED = "reversed"


class Redemption(Base):
    """Points exchanged for an offer: the debit, the benefit issued, and a possible reversal."""

    __tablename__ = "redemptions"
    __table_args__ = (
        sa.CheckConstraint("points > 0", name="points_positive"),
        sa.CheckConstraint(
            "(status = 'reversed') = (reversed_at IS NOT NULL)", name="reversed_has_date"
        ),
        # The limits' count (one resident, one offer, this month) and a resident's vouchers. No
        # other index leads with the offer or the resident, so no plan (a prepared statement's
        # generic one included) can count the limits by reading every redemption of the offer.
        sa.Index("ix_redemptions_limits", "resident_id", "offer_id", "confirmed_at"),
        sa.Index("ix_redemptions_merchant_confirmed", "merchant_id", "confirmed_at"),
        {"comment": "Confirmed redemptions of offers, with their fulfilment"},
    )

    #: The id of the token that authorised it: one redemption per token, and the id is known
    #: before the insert, so the voucher code is derived without a second write.
    id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("redemption_tokens.id"), primary_key=True, autoincrement=False
    )
    resident_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    offer_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("offers.id"))
    merchant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("merchants.id"))
    store_id: Mapped[int | None] = mapped_column(
        BigId,
        sa.ForeignKey("stores.id"),
        comment="The store whose counter confirmed it; empty for redemptions before stores counted",
    )
    offer_title: Mapped[str] = mapped_column(
        sa.String(128), comment="The offer's title at the time: later edits leave it as it was"
    )
    points: Mapped[int] = mapped_column(comment="Points debited (the offer's price at the time)")
    reward_type: Mapped[str] = mapped_column(sa.String(40))
    fulfilment: Mapped[dict[str, Any]] = mapped_column(
        comment="The reward type's fulfilment: voucher code, instructions, payload"
    )
    ledger_transaction_id: Mapped[int] = mapped_column(
        BigId,
        sa.ForeignKey("ledger_transactions.id"),
        comment="The ledger transaction that debited the points",
    )
    confirmed_by_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[RedemptionStatus] = mapped_column(
        str_enum(RedemptionStatus, "redemption_status"), default=RedemptionStatus.COMPLETED
    )
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reversed_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    reversal_transaction_id: Mapped[int | None] = mapped_column(
        BigId,
        sa.ForeignKey("ledger_transactions.id"),
        comment="The ledger transaction that gave the points back",
    )
    reversal_reason: Mapped[str] = mapped_column(sa.String(255), default="")
    voucher_used_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the merchant's system reported the voucher used; empty if not"
    )
    funded_fen: Mapped[int | None] = mapped_column(
        comment="What the partner (a bank) funds for this redemption, in fen; empty when the "
        "city's subsidy pays the merchant"
    )
