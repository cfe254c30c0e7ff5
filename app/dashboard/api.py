"""Open data: the dashboard's figures as JSON."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from app.dashboard import services
from app.db import db
from app.filings.package import tonnes

blp = Blueprint("statistics_api", __name__, url_prefix="/api/v1", description="Open statistics")
PUBLIC: list[dict[str, list[str]]] = []


class StatisticsKindOut(ma.Schema):
    activities = ma.fields.Integer()
    reduction_g = ma.fields.Integer(metadata={"description": "Grams CO2e avoided"})


class StatisticsMonthOut(ma.Schema):
    month = ma.fields.String(metadata={"example": "2026-11"})
    activities = ma.fields.Integer()
    reduction_g = ma.fields.Integer(
        attribute="grams", metadata={"description": "Grams CO2e avoided"}
    )
    tonnes_co2e = ma.fields.Function(
        lambda m: str(tonnes(m.grams)),
        metadata={"type": "string", "description": "Tonnes CO2e, exact to the gram (six decimals)"},
    )
    participants_to_date = ma.fields.Integer()
    points_issued = ma.fields.Integer(metadata={"description": "Points issued"})
    points_redeemed = ma.fields.Integer(metadata={"description": "Points redeemed"})
    points_expired = ma.fields.Integer(metadata={"description": "Points that expired"})
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(StatisticsKindOut))


class StatisticsTotalsOut(ma.Schema):
    activities = ma.fields.Integer()
    reduction_g = ma.fields.Integer(metadata={"description": "Grams CO2e avoided"})
    tonnes_co2e = ma.fields.Function(
        lambda t: str(tonnes(t["reduction_g"])),
        metadata={"type": "string", "description": "Tonnes CO2e, exact to the gram (six decimals)"},
    )
    participants = ma.fields.Integer()
    points_issued = ma.fields.Integer(metadata={"description": "Points issued"})
    points_redeemed = ma.fields.Integer(metadata={"description": "Points redeemed"})
    points_expired = ma.fields.Integer(metadata={"description": "Points that expired"})
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(StatisticsKindOut))


class StatisticsOut(ma.Schema):
    totals = ma.fields.Nested(StatisticsTotalsOut)
    months = ma.fields.List(ma.fields.Nested(StatisticsMonthOut))


@blp.get("/statistics")
@blp.response(200, StatisticsOut)
@blp.doc(security=PUBLIC)
def statistics() -> dict[str, Any]:
    """City totals and monthly figures by activity kind (recomputed hourly)."""
    months = services.monthly(db.session)
    return {"totals": services.summary(months), "months": months}
