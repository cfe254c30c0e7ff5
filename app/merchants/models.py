"""Alliance merchants (联盟商户), whose staff scan residents' QR codes, and their offers."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum
from app.sealing import SealedString


class MerchantKind(enum.StrEnum):
    PARKING = "parking"
    TRANSIT = "transit"
    SHOP = "shop"
    RESTAURANT = "restaurant"
    #: A bank or other financial institution: publishes and funds bank rewards (rewards.bank).
    FINANCIAL = "financial"
    OTHER = "other"


class MerchantStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


#: What the voucher keys' sealing key is derived for (app.sealing).
VOUCHER_KEY_PURPOSE = b"tanpuhui voucher keys v1"


def new_voucher_key() -> str:
    """32 random bytes as hex: the key reward types derive this merchant's voucher codes with."""
    return secrets.token_hex(32)


class Merchant(Base):
    """A business that applied to the alliance; only an approved one redeems points."""

    __tablename__ = "merchants"
    __table_args__ = ({"comment": "Alliance merchants: applications, approvals and suspensions"},)

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[MerchantKind] = mapped_column(str_enum(MerchantKind, "merchant_kind"))
    status: Mapped[MerchantStatus] = mapped_column(
        str_enum(MerchantStatus, "merchant_status"), default=MerchantStatus.PENDING, index=True
    )
    contact_name: Mapped[str] = mapped_column(sa.String(64), default="")
    contact_mobile: Mapped[str] = mapped_column(
        sa.String(11), default="", comment="Mainland mobile number of the contact person"
    )
    credit_code: Mapped[str | None] = mapped_column(
        sa.String(18), unique=True, comment="Unified social credit code (统一社会信用代码)"
    )
    voucher_key: Mapped[str] = mapped_column(
        SealedString(VOUCHER_KEY_PURPOSE),
        default=new_voucher_key,
        comment="Hex key shared with the merchant so its gates can check voucher codes offline; "
        "sealed (AES-GCM under a key derived from SECRET_KEY)",
    )
    previous_voucher_key: Mapped[str | None] = mapped_column(
        SealedString(VOUCHER_KEY_PURPOSE),
        comment="The key before the last rotation: vouchers issued before it still check with it; "
        "sealed",
    )
    voucher_key_rotated_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the voucher key was last rotated; empty if never"
    )
    decided_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Last approval, rejection, suspension or reinstatement"
    )
    # users.merchant_id points back here: this key is created after both tables (no cycle).
    decided_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id", use_alter=True)
    )
    decision_note: Mapped[str] = mapped_column(
        sa.String(500),
        default="",
        comment="Why it was rejected or suspended, shown to the merchant",
    )
    created_at: Mapped[created_at]

    stores: Mapped[list[Store]] = relationship(
        back_populates="merchant", lazy="raise", order_by="Store.id"
    )


class Store(Base):
    """A place where a merchant serves residents (a car park, a shop, a station)."""

    __tablename__ = "stores"
    __table_args__ = ({"comment": "A merchant's stores with their addresses"},)

    id: Mapped[intpk]
    merchant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    address: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[created_at]

    merchant: Mapped[Merchant] = relationship(back_populates="stores", lazy="raise")


#: A cashier works at the stores listed here; a manager works at every store of the merchant.
staff_stores = sa.Table(
    "staff_stores",
    Base.metadata,
    sa.Column("user_id", BigId, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("store_id", BigId, sa.ForeignKey("stores.id"), primary_key=True, index=True),
    comment="The stores where a cashier works",
)


class OfferStatus(enum.StrEnum):
    PENDING = "pending"  # a public-service offer awaiting the bureau
    ACTIVE = "active"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


offer_stores = sa.Table(
    "offer_stores",
    Base.metadata,
    sa.Column("offer_id", BigId, sa.ForeignKey("offers.id"), primary_key=True),
    sa.Column("store_id", BigId, sa.ForeignKey("stores.id"), primary_key=True, index=True),
    comment="The stores where an offer may be redeemed",
)


class Offer(Base):
    """What a merchant gives for points. Its benefit is a reward type plugin plus a configuration.

    ``stock`` is decremented by a conditional UPDATE at each redemption, so it never goes below
    zero under concurrent scans; empty means unlimited.
    """

    __tablename__ = "offers"
    __table_args__ = (
        sa.CheckConstraint("points_price > 0", name="price_positive"),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        sa.CheckConstraint("daily_limit IS NULL OR daily_limit > 0", name="daily_limit_positive"),
        sa.CheckConstraint(
            "monthly_limit IS NULL OR monthly_limit > 0", name="monthly_limit_positive"
        ),
        sa.CheckConstraint("valid_until > valid_from", name="window_not_empty"),
        sa.Index("ix_offers_status_reward_type", "status", "reward_type"),
        {"comment": "Merchants' offers: price in points, stock, limits, validity window"},
    )

    id: Mapped[intpk]
    merchant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("merchants.id"), index=True)
    reward_type: Mapped[str] = mapped_column(
        sa.String(40), comment="Code of the reward type plugin, e.g. parking_discount"
    )
    config: Mapped[dict[str, Any]] = mapped_column(
        comment="The reward type's configuration, as its schema loaded it"
    )
    title: Mapped[str] = mapped_column(sa.String(128))
    title_en: Mapped[str] = mapped_column(
        sa.String(128),
        default="",
        server_default="",
        comment="The title in English; empty: the Chinese title is shown",
    )
    terms: Mapped[str] = mapped_column(
        sa.String(500), default="", comment="Fine print for residents"
    )
    points_price: Mapped[int] = mapped_column(comment="Points a resident pays per redemption")
    stock: Mapped[int | None] = mapped_column(comment="Items left to redeem; empty means unlimited")
    daily_limit: Mapped[int | None] = mapped_column(
        comment="Redemptions per resident per city-local day; empty means no limit"
    )
    monthly_limit: Mapped[int | None] = mapped_column(
        comment="Redemptions per resident per city-local month; empty means no limit"
    )
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime, comment="Exclusive end (UTC)")
    public_service: Mapped[bool] = mapped_column(
        comment="The reward type is a public service: the bureau approves the offer"
    )
    status: Mapped[OfferStatus] = mapped_column(str_enum(OfferStatus, "offer_status"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    decision_note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[created_at]
    edited_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime,
        comment=(
            "Last change to the terms residents see (not stock); QR codes shown before it are "
            "refused"
        ),
    )

    merchant: Mapped[Merchant] = relationship(lazy="raise")
    stores: Mapped[list[Store]] = relationship(
        secondary=offer_stores, lazy="raise", order_by="Store.id"
    )

    def title_in(self, locale: str) -> str:
        """The title in the reader's language: English when given, else the Chinese one."""
        return self.title_en if self.title_en and not locale.startswith("zh") else self.title
