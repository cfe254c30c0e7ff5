"""Requests for a copy of one's data and for closing one's account."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum


class ClosureStatus(enum.StrEnum):
    PENDING = "pending"  # cooling off: the resident may still cancel
    CANCELLED = "cancelled"
    ERASED = "erased"


class AccountClosure(Base):
    """A resident asked to close their account; erased once the cooling-off period has passed."""

    __tablename__ = "account_closures"
    __table_args__ = (
        sa.Index(
            "uq_account_closures_pending",
            "user_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_account_closures_status_erase_after", "status", "erase_after"),
        {"comment": "Account closures: requested, cancelled or carried out"},
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    status: Mapped[ClosureStatus] = mapped_column(
        str_enum(ClosureStatus, "closure_status"), default=ClosureStatus.PENDING
    )
    requested_at: Mapped[created_at]
    erase_after: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="End of the cooling-off period: erased by the next run after it"
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forfeited_points: Mapped[int | None] = mapped_column(
        sa.BigInteger, comment="Points the wallet held at erasure, forfeited by a ledger adjustment"
    )


class ExportStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the background job
    READY = "ready"


class DataExport(Base):
    """A copy of a resident's data: a zip file in the instance folder, downloadable until
    ``expires_at``."""

    __tablename__ = "data_exports"
    __table_args__ = ({"comment": "Copies of residents' data (zip files) and when they expire"},)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    status: Mapped[ExportStatus] = mapped_column(
        str_enum(ExportStatus, "export_status"), default=ExportStatus.PENDING
    )
    requested_at: Mapped[created_at]
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="The download link ends then; the file is deleted"
    )
    file_name: Mapped[str | None] = mapped_column(
        sa.String(64), comment="Random file name under EXPORT_DIR"
    )
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    downloads: Mapped[int] = mapped_column(default=0, server_default="0")
