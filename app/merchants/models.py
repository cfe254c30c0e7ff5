"""Alliance merchants (联盟商户): businesses whose staff scan residents' QR codes."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, created_at, intpk, str_enum


class MerchantKind(enum.StrEnum):
    PARKING = "parking"
    TRANSIT = "transit"
    SHOP = "shop"
    RESTAURANT = "restaurant"
    OTHER = "other"


class MerchantStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[MerchantKind] = mapped_column(str_enum(MerchantKind, "merchant_kind"))
    status: Mapped[MerchantStatus] = mapped_column(
        str_enum(MerchantStatus, "merchant_status"), default=MerchantStatus.PENDING
    )
    created_at: Mapped[created_at]
