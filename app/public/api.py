"""JSON API: one of my activities in full (the list at /api/v1/me/activities links here)."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from app.accounts.auth import requires
from app.accounts.roles import Permission
from app.activities.schemas import ResidentActivityOut
from app.context import methodologies
from app.db import db
from app.public.activity import ActivityDetail, activity_detail
from app.wallet.schemas import BilingualTextOut

blp = Blueprint(
    "my_activity_api", __name__, url_prefix="/api/v1/me", description="My activities, in full"
)


class FilingOut(ma.Schema):
    serial = ma.fields.String()
    status = ma.fields.String(
        metadata={"description": "draft, approved, submitted, accepted or rejected"}
    )
    period_start = ma.fields.Date(metadata={"description": "First local day of the month filed"})


class ActivityDetailOut(ma.Schema):
    """An activity with its calculation, the cap that held points back and its filing."""

    activity = ma.fields.Nested(ResidentActivityOut, attribute="row")
    source_name = ma.fields.String(
        attribute="partner_name",
        allow_none=True,
        metadata={"description": "The data partner that reported it; null when self-reported"},
    )
    methodology_name = ma.fields.Nested(BilingualTextOut, allow_none=True)
    methodology_version = ma.fields.String(allow_none=True)
    trace = ma.fields.Nested(
        BilingualTextOut,
        allow_none=True,
        metadata={"description": "The calculation in words; null before it was quantified"},
    )
    points_cap = ma.fields.String(
        attribute="cap",
        allow_none=True,
        metadata={"description": "The wallet cap that held points back: daily or monthly"},
    )
    filing = ma.fields.Nested(
        FilingOut, allow_none=True, metadata={"description": "The filing batch it is in, if any"}
    )


@blp.get("/activities/<int:activity_id>")
@requires(Permission.USE_WALLET)
@blp.response(200, ActivityDetailOut)
def my_activity(activity_id: int) -> ActivityDetail:
    """One of my activities: what, when, from whom, status and reasons, the calculation, points,
    and whether it was capped or filed (404 for anyone else's)."""
    return activity_detail(db.session, current_user.id, activity_id, methodologies())
