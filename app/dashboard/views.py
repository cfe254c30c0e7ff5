"""The public dashboard: city totals with charts, and the same figures as open CSV and JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from app import units
from app.context import methodologies
from app.dashboard import charts, services
from app.db import db
from app.filings.package import tonnes

bp = Blueprint("dashboard", __name__)

CSV_COLUMNS = (
    "month", "activity_kind", "activities", "reduction_g", "tonnes_co2e",
    "participants_to_date", "points_issued", "points_redeemed", "points_expired",
)  # fmt: skip


def kind_names() -> dict[str, str]:
    """Each activity kind's name in the visitor's language, from the methodology plugins."""
    chinese = str(get_locale() or "zh").startswith("zh")
    plugins = methodologies().values()
    return {p.activity_kind: p.name.zh if chinese else p.name.en for p in plugins}


@bp.get("/dashboard")
def index() -> str:
    months = services.monthly(db.session)
    recent = months[-12:]
    names = kind_names()
    kinds = sorted({kind for month in recent for kind in month.by_kind})
    tonnes_chart = charts.stacked(
        [m.month for m in recent],
        {k: [m.by_kind.get(k, {}).get("reduction_g", 0) for m in recent] for k in kinds},
        names=names,
        unit="t CO2e",
        figure=units.tonnes_figure,
    )
    points_chart = charts.stacked(
        [m.month for m in recent],
        {
            "issued": [m.points_issued for m in recent],
            "redeemed": [m.points_redeemed for m in recent],
            "expired": [m.points_expired for m in recent],
        },
        names={"issued": _("Issued"), "redeemed": _("Redeemed"), "expired": _("Expired")},
        unit=_("points"),
    )
    return render_template(
        "dashboard/index.html",
        totals=services.summary(months),
        months=recent,
        names=names,
        tonnes_chart=tonnes_chart,
        points_chart=points_chart,
    )


def csv_rows(months: list[services.Month]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for month in months:
        for kind, figures in sorted(month.by_kind.items()):
            rows.append(
                {
                    "month": month.month,
                    "activity_kind": kind,
                    "activities": figures["activities"],
                    "reduction_g": figures["reduction_g"],
                    "tonnes_co2e": str(tonnes(figures["reduction_g"])),
                }
            )
        rows.append(
            {
                "month": month.month,
                "activity_kind": "all",
                "activities": month.activities,
                "reduction_g": month.grams,
                "tonnes_co2e": str(tonnes(month.grams)),
                "participants_to_date": month.participants_to_date,
                "points_issued": month.points_issued,
                "points_redeemed": month.points_redeemed,
                "points_expired": month.points_expired,
            }
        )
    return rows


@bp.get("/dashboard.csv")
def as_csv() -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(services.monthly(db.session)))
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="tanpuhui-statistics.csv"'},
    )
