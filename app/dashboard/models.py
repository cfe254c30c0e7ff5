"""Daily statistics, recomputed per local date by the statistics job (delete and insert)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class DailyActivityStatistic(Base):
    """Verified reductions of one local date and one activity kind."""

    __tablename__ = "daily_activity_statistics"
    __table_args__ = ({"comment": "Per local date and activity kind: verified activities"},)

    day: Mapped[date] = mapped_column(primary_key=True, comment="Local date in the city's zone")
    activity_kind: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    activities: Mapped[int] = mapped_column(comment="Verified reductions that happened that day")
    participants: Mapped[int] = mapped_column(comment="Distinct participants among them")
    reduction_g: Mapped[int] = mapped_column(sa.BigInteger, comment="Their sum, grams CO2e")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DailyTotal(Base):
    """City-wide figures of one local date that do not split by activity kind."""

    __tablename__ = "daily_totals"
    __table_args__ = ({"comment": "Per local date: participants and points"},)

    day: Mapped[date] = mapped_column(primary_key=True, comment="Local date in the city's zone")
    participants: Mapped[int] = mapped_column(comment="Distinct participants active that day")
    participants_to_date: Mapped[int] = mapped_column(
        comment="Distinct participants with a verified reduction up to the end of that day"
    )
    points_issued: Mapped[int] = mapped_column(sa.BigInteger, comment="Points credited, points")
    points_redeemed: Mapped[int] = mapped_column(sa.BigInteger, comment="Points spent, points")
    points_expired: Mapped[int] = mapped_column(sa.BigInteger, comment="Points expired, points")
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
