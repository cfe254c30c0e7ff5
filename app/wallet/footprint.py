"""What a resident avoided: verified grams CO2e in all, this month, and per day of recent weeks.

Counted from the issuances (one per verified reduction, dated by the activity's local day, indexed
by participant and day), joined to the reductions' grams: the home page's figures and the days
its chart (``app.wallet.daychart``) draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.ledger.models import Issuance
from app.reductions.models import Reduction

issuances = Issuance.__table__
reductions = Reduction.__table__

#: Grams CO2e of a private car per passenger-km: Beijing MaaS launch material, 2019 (a 22 km
#: commute is 5.98 kg by car), the everyday equivalence the home page gives.
CAR_G_PER_KM = Decimal("271.8")


@dataclass(frozen=True, slots=True)
class DayGrams:
    day: date
    grams: int


@dataclass(frozen=True, slots=True)
class Footprint:
    total_g: int
    month_g: int
    #: Every day of the recent weeks, oldest first, ending today.
    days: list[DayGrams]

    @property
    def car_km(self) -> int:
        """The total as kilometres not driven by a private car, rounded half up."""
        return int((Decimal(self.total_g) / CAR_G_PER_KM).quantize(Decimal(1), ROUND_HALF_UP))


def footprint(session: Session, holder_id: int, today: date, *, weeks: int = 4) -> Footprint:
    """The holder's verified grams: in all, in ``today``'s month, and each of the last weeks."""
    first_day = today - timedelta(days=7 * weeks - 1)
    month_start = today.replace(day=1)
    grams = sa.func.coalesce(sa.func.sum(reductions.c.reduction_g), 0)
    mine = (
        sa.select()
        .select_from(issuances.join(reductions, reductions.c.id == issuances.c.reduction_id))
        .where(issuances.c.participant_id == holder_id)
    )
    total = session.scalar(mine.add_columns(grams)) or 0
    month = session.scalar(mine.add_columns(grams).where(issuances.c.activity_date >= month_start))
    per_day = dict(
        session.execute(
            mine.add_columns(issuances.c.activity_date, grams)
            .where(issuances.c.activity_date.between(first_day, today))
            .group_by(issuances.c.activity_date)
        ).all()
    )
    days = [
        DayGrams(day, int(per_day.get(day, 0)))
        for day in (first_day + timedelta(days=n) for n in range(7 * weeks))
    ]
    return Footprint(int(total), int(month or 0), days)
