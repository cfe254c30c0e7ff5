"""The points budget over the API: the liability and each month's budget; bureau admins set it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from app.accounts.auth import requires
from app.api.fields import yuan
from app.bureau.budget import MonthFigures, Overview, overview, set_month
from app.roles import Permission

blp = Blueprint(
    "budget_api", __name__, url_prefix="/api/v1/bureau/ledger", description="Points budget"
)

_MONTH = {"pattern": r"^\d{4}-\d{2}$", "example": "2027-01"}


class BudgetMonthOut(ma.Schema):
    month = ma.fields.Function(lambda m: f"{m.month:%Y-%m}", metadata=_MONTH | {"type": "string"})
    budget_points = ma.fields.Integer(
        allow_none=True, metadata={"description": "Most points the month issues; null: no limit"}
    )
    issued_points = ma.fields.Integer(
        metadata={"description": "Points charged: issued, or released from deferrals"}
    )
    remaining_points = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Points left: budget less issued; null: no budget"},
    )
    deferred_points = ma.fields.Integer(
        metadata={"description": "Points the month could not cover, issued from later months"}
    )
    scaled_points = ma.fields.Integer(
        metadata={"description": "Points not issued: the month's last credits scaled down"}
    )
    warned = ma.fields.Boolean(metadata={"description": "The warning threshold was reached"})
    reached = ma.fields.Boolean(metadata={"description": "A credit was deferred or scaled"})


class ExpiringOut(ma.Schema):
    month = ma.fields.Function(
        lambda pair: f"{pair[0]:%Y-%m}", metadata=_MONTH | {"type": "string"}
    )
    points = ma.fields.Function(
        lambda pair: pair[1], metadata={"type": "integer", "description": "Points expiring then"}
    )


class BudgetOut(ma.Schema):
    policy = ma.fields.String(metadata={"enum": ["defer", "scale"]})
    warn_percent = ma.fields.Integer(metadata={"description": "Warn at this share of a budget"})
    outstanding_points = ma.fields.Integer(
        attribute="liability.outstanding_points", metadata={"description": "Points in every wallet"}
    )
    outstanding_value_yuan = yuan(
        "Their value at the settlement rate, yuan", attribute="value_yuan"
    )
    yuan_per_point = ma.fields.Decimal(
        as_string=True,
        metadata={
            "type": "string",
            "description": "The settlement rate, yuan per point (exact, a decimal string)",
        },
    )
    overdue_points = ma.fields.Integer(
        attribute="liability.overdue_points",
        metadata={"description": "Outstanding points whose validity ended (next expiry run)"},
    )
    owed_points = ma.fields.Integer(
        attribute="liability.owed_points",
        metadata={"description": "Points deferred by a month's budget, not issued yet"},
    )
    expiring = ma.fields.List(
        ma.fields.Nested(ExpiringOut),
        attribute="liability.expiring",
        metadata={"description": "Outstanding points by the month their validity ends"},
    )
    months = ma.fields.List(ma.fields.Nested(BudgetMonthOut))


class BudgetMonthIn(ma.Schema):
    month = ma.fields.String(required=True, validate=ma.validate.Regexp(_MONTH["pattern"]))
    points = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=0, max=10**15),
        metadata={"description": "Most points the month may issue"},
    )


@blp.get("/budget")
@requires(Permission.READ_LEDGER)
@blp.response(200, BudgetOut)
def get_budget() -> Overview:
    """The points outstanding, their value and expected expiry, and the budgets of the months
    around this one (a year back, a quarter ahead)."""
    return overview()


@blp.post("/budget/months")
@requires(Permission.MANAGE_LEDGER)
@blp.arguments(BudgetMonthIn())
@blp.response(200, BudgetMonthOut)
def post_month(data: dict[str, Any]) -> MonthFigures:
    """Set this month's or a later month's budget (audited). Refused (409, nothing written)
    below what the month has already issued; 422 for a past month."""
    row = set_month(data["month"], data["points"])
    return MonthFigures(
        row.month, row.budget_points, row.issued_points, row.deferred_points, row.scaled_points,
        row.warned_at is not None, row.reached_at is not None,
    )  # fmt: skip
