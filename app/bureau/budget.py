"""The points budget: the bureau's page and API to set each month's budget and see the liability.

What the page and the API show is built once here (:func:`overview`): the months around this one
with their budgets and charges, the points outstanding and their value at the settlement rate,
and when those points are expected to expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.code_views import show_refusal
from app.context import ledger_policy
from app.dashboard import charts
from app.db import db
from app.errors import DomainError
from app.ledger import budget, liability
from app.ledger.models import BudgetMonth
from app.roles import Permission

bp = Blueprint("bureau_budget", __name__, url_prefix="/bureau/ledger/budget")

#: Months shown around the current one: a year of history and a quarter to plan.
MONTHS_BEFORE, MONTHS_AFTER = 11, 3


@dataclass(frozen=True, slots=True)
class MonthFigures:
    month: date
    budget_points: int | None  # None: no budget, no limit
    issued_points: int
    deferred_points: int
    scaled_points: int
    warned: bool
    reached: bool

    @property
    def remaining_points(self) -> int | None:
        return None if self.budget_points is None else self.budget_points - self.issued_points


@dataclass(frozen=True, slots=True)
class Overview:
    current: date
    policy: str
    warn_percent: int
    yuan_per_point: Decimal
    liability: liability.Liability
    months: list[MonthFigures]

    @property
    def value_yuan(self) -> Decimal:
        return self.liability.value_yuan(self.yuan_per_point)

    @property
    def this_month(self) -> MonthFigures:
        return next(m for m in self.months if m.month == self.current)


def overview() -> Overview:
    policy = ledger_policy()
    now = clock.now()
    current = budget.month_of(policy.local_date(now))
    span = liability.month_range(current, before=MONTHS_BEFORE, after=MONTHS_AFTER)
    rows = {row.month: row for row in liability.budget_months(db.session, span[0], span[-1])}
    return Overview(
        current=current,
        policy=policy.budget_policy.value,
        warn_percent=policy.budget_warn_percent,
        yuan_per_point=current_app.config["YUAN_PER_POINT_SUBSIDY"],
        liability=liability.liability(db.session, now=now, policy=policy),
        months=[_figures(month, rows.get(month)) for month in span],
    )


def _figures(month: date, row: BudgetMonth | None) -> MonthFigures:
    if row is None:
        return MonthFigures(month, None, 0, 0, 0, False, False)
    return MonthFigures(
        month, row.budget_points, row.issued_points, row.deferred_points, row.scaled_points,
        row.warned_at is not None, row.reached_at is not None,
    )  # fmt: skip


def set_month(month: object, points: object) -> BudgetMonth:
    return budget.set_budget(
        db.session, current_actor(), month=month, points=points, policy=ledger_policy(),
        now=clock.now(),
    )  # fmt: skip


# -- the page ------------------------------------------------------------------------------------


class BudgetForm(FlaskForm):
    month = StringField(
        _l("Month"), validators=[InputRequired()], description=_l("YYYY-MM, e.g. 2027-01")
    )
    points = IntegerField(
        _l("Budget (points)"),
        validators=[InputRequired(message=_l("Enter a whole number of points."))],
    )


@bp.get("")
@requires(Permission.READ_LEDGER)
def page() -> str:
    return _render(BudgetForm())[0]


@bp.post("")
@requires(Permission.MANAGE_LEDGER)
def set_page() -> Any:
    form = BudgetForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    try:
        row = set_month(form.month.data, form.points.data)
    except DomainError as error:
        show_refusal(form, error)
        return _render(form, error.status)
    flash(
        _("The budget of %(month)s is now %(points)s points.", month=f"{row.month:%Y-%m}",
          points=f"{row.budget_points:,}"),
        "success",
    )  # fmt: skip
    return redirect(url_for("bureau_budget.page"))


def _render(form: BudgetForm, status: int = 200) -> tuple[str, int]:
    figures = overview()
    if not form.month.data:
        form.month.data = f"{figures.current:%Y-%m}"
    return render_template(
        "bureau/budget.html", figures=figures, form=form, **_charts(figures)
    ), status


def _charts(figures: Overview) -> dict[str, charts.Chart]:
    labels = [f"{m.month:%Y-%m}" for m in figures.months]
    against = charts.stacked(
        labels,
        {
            "issued": [m.issued_points for m in figures.months],
            "left": [max(m.remaining_points or 0, 0) for m in figures.months],
            "held": [m.deferred_points + m.scaled_points for m in figures.months],
        },
        names={
            "issued": _("Issued"),
            "left": _("Left in the budget"),
            "held": _("Deferred or scaled down"),
        },
        unit=_("points"),
    )
    expiring = charts.stacked(
        [f"{month:%Y-%m}" for month, _points in figures.liability.expiring[:12]],
        {"expiring": [points for _month, points in figures.liability.expiring[:12]]},
        names={"expiring": _("Expected to expire")},
        unit=_("points"),
    )
    return {"budget_chart": against, "expiry_chart": expiring}
