"""The bureau's merchant pages: applications and decisions, offers to approve, settlement."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.api.pagination import keyset_page
from app.context import city_zone, reward_types
from app.db import db
from app.errors import DomainError, NotFound
from app.merchants import forms, offer_changes, offers, services
from app.merchants.models import Merchant, MerchantStatus
from app.merchants.views import statement_csv, statement_page
from app.redemption import settlement

bp = Blueprint("bureau_merchants", __name__, url_prefix="/bureau")


@bp.get("/merchants")
@requires(Permission.APPROVE_MERCHANTS)
def merchants() -> str:
    raw_status = request.args.get("status") or None
    status = MerchantStatus(raw_status) if raw_status in set(MerchantStatus) else None
    page = keyset_page(
        db.session,
        services.merchants_query(status),
        Merchant.id,
        limit=50,
        cursor=request.args.get("cursor"),
    )
    return render_template(
        "bureau/merchants.html",
        page=page,
        status=status,
        statuses=list(MerchantStatus),
        pending_offers=len(offers.pending_offers(db.session)),
    )


@bp.get("/merchants/<int:merchant_id>")
@requires(Permission.APPROVE_MERCHANTS)
def merchant(merchant_id: int) -> Any:
    found = db.session.get(Merchant, merchant_id)
    if found is None:
        raise NotFound("merchant")
    return render_template(
        "bureau/merchant.html",
        merchant=found,
        stores=services.stores_of(db.session, merchant_id),
        members=services.staff_of(db.session, merchant_id),
        offers=offers.offers_of_merchant(db.session, merchant_id),
        form=forms.DecisionForm(),
        kind_labels=forms.KIND_LABELS,
    )


@bp.post("/merchants/<int:merchant_id>/decision")
@requires(Permission.APPROVE_MERCHANTS)
def decide(merchant_id: int) -> Any:
    form = forms.DecisionForm()
    if form.validate_on_submit():
        try:
            services.decide(
                db.session,
                current_actor(),
                merchant_id,
                decision=form.decision.data,
                note=form.note.data or "",
            )
        except DomainError as error:
            flash(str(error.message), "error")
            return redirect(url_for("bureau_merchants.merchant", merchant_id=merchant_id)), 303
        flash(_("Saved."), "success")
    return redirect(url_for("bureau_merchants.merchant", merchant_id=merchant_id))


@bp.get("/offers")
@requires(Permission.APPROVE_MERCHANTS)
def pending_offers() -> str:
    locale = str(get_locale() or "zh")
    return render_template(
        "bureau/merchant_offers.html",
        offers=offer_changes.pending_with_changes(
            db.session,
            offers.pending_offers(db.session),
            reward_types=reward_types(),
            locale=locale,
            zone=city_zone(),
        ),
        form=forms.OfferDecisionForm(),
        types=reward_types(),
        locale=locale,
    )


@bp.post("/offers/<int:offer_id>/decision")
@requires(Permission.APPROVE_MERCHANTS)
def decide_offer(offer_id: int) -> Any:
    form = forms.OfferDecisionForm()
    if form.validate_on_submit():
        try:
            offers.decide_offer(
                db.session,
                current_actor(),
                offer_id,
                approve=form.approve.data == "1",
                note=form.note.data or "",
            )
        except DomainError as error:
            flash(str(error.message), "error")
            return redirect(url_for("bureau_merchants.pending_offers")), 303
        flash(_("Saved."), "success")
    return redirect(url_for("bureau_merchants.pending_offers"))


def _month() -> date:
    return settlement.parse_month(
        request.args.get("month"), today=clock.now().astimezone(city_zone()).date()
    )


def _all_statements(month: date) -> list[settlement.Statement]:
    return settlement.statements(
        db.session,
        month,
        zone=city_zone(),
        yuan_per_point=current_app.config["YUAN_PER_POINT_SUBSIDY"],
    )


@bp.get("/settlement")
@requires(Permission.BUREAU_CONSOLE)
def all_settlement() -> str:
    month = _month()
    rows = _all_statements(month)
    return render_template(
        "bureau/merchant_settlement.html",
        rows=rows,
        month=month.strftime("%Y-%m"),
        previous_month=(month - timedelta(days=1)).strftime("%Y-%m"),
        total_points=sum(row.points for row in rows),
        total_yuan=sum((row.amount_yuan for row in rows), Decimal("0.00")),
        rate=current_app.config["YUAN_PER_POINT_SUBSIDY"],
    )


@bp.get("/settlement.csv")
@requires(Permission.BUREAU_CONSOLE)
def all_settlement_csv() -> Response:
    month = _month()
    return Response(
        "\ufeff" + settlement.statements_csv(_all_statements(month)),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=settlement-{month:%Y-%m}.csv"},
    )


@bp.get("/merchants/<int:merchant_id>/settlement")
@requires(Permission.BUREAU_CONSOLE)
def merchant_settlement(merchant_id: int) -> str:
    return statement_page(
        merchant_id, "bureau_merchants.merchant_settlement_csv", {"merchant_id": merchant_id}
    )


@bp.get("/merchants/<int:merchant_id>/settlement.csv")
@requires(Permission.BUREAU_CONSOLE)
def merchant_settlement_csv(merchant_id: int) -> Response:
    return statement_csv(merchant_id)
