"""Pages of pooled sales: the bureau records, approves and distributes them; each resident sees
their share of every sale with a statement; ``tanpuhui distribute-sale`` runs a large one."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.roles import Permission
from app.accounts.views import render_form_error
from app.context import approval_independence, ledger_policy
from app.db import db
from app.errors import DomainError
from app.filings import forms, proceeds, sales

bureau_bp = Blueprint("sales", __name__, url_prefix="/bureau/sales")
resident_bp = Blueprint("proceeds", __name__, url_prefix="/me/proceeds")

SALES = "filings/sales.html"
#: Shares paid per round of statements when a page or API call pays a whole sale in its request.
PAID_PER_STATEMENT = 10_000


def payout_rules() -> proceeds.PayoutRules:
    config = current_app.config
    return proceeds.PayoutRules(
        programme_percent=config["SALE_PROGRAMME_SHARE_PERCENT"],
        paid_as=config["SALE_PROCEEDS_PAID_AS"],
        yuan_per_point=config["YUAN_PER_POINT_SUBSIDY"],
        policy=ledger_policy(),
    )


def _context() -> dict[str, Any]:
    listed = sales.sales(db.session)
    independence = approval_independence()
    refusals = {}  # the decision's own rule: no buttons where it would refuse
    for sale in listed:
        refusal = sales.decision_refusal(db.session, current_user.id, sale, independence)
        refusals[sale.id] = str(refusal[1]) if refusal else None
    return {
        "sales": listed,
        "refusals": refusals,
        "runs": {sale.id: proceeds.run_of(db.session, sale.id) for sale in listed},
        "decide_form": EmptyForm(),
        "programme_percent": current_app.config["SALE_PROGRAMME_SHARE_PERCENT"],
    }


@bureau_bp.route("", methods=["GET", "POST"])
@requires(Permission.MANAGE_FILINGS)
def sales_page() -> Any:
    form = forms.SaleForm()
    if not form.is_submitted():
        return render_template(SALES, form=form, **_context())
    if not form.validate():
        return render_template(SALES, form=form, **_context()), 400
    try:
        sale = sales.request_sale(
            db.session, current_actor(), buyer=form.buyer.data,
            price_fen_per_tonne=sales.parse_price(form.price.data), sold_on=form.sold_on.data,
            exchange_reference=form.exchange_reference.data,
            serials=form.ranges.data.splitlines(),
        )  # fmt: skip
    except DomainError as error:
        db.session.rollback()
        return render_form_error(SALES, form, error, **_context())
    flash(_("Sale %(id)s recorded; a colleague must approve it.", id=sale.id), "success")
    return redirect(url_for("sales.sales_page"))


@bureau_bp.post("/<int:sale_id>/approve", defaults={"approve": True})
@bureau_bp.post("/<int:sale_id>/refuse", defaults={"approve": False})
@requires(Permission.MANAGE_FILINGS)
def decide(sale_id: int, approve: bool) -> Any:
    if not EmptyForm().validate_on_submit():
        return render_template(SALES, form=forms.SaleForm(), **_context()), 400
    sales.decide_sale(
        db.session, current_actor(), sale_id, approve=approve,
        independence=approval_independence(),
    )  # fmt: skip
    flash(_("Approved: the units are sold.") if approve else _("Refused."), "success")
    return redirect(url_for("sales.sales_page"))


@bureau_bp.post("/<int:sale_id>/distribute")
@requires(Permission.MANAGE_FILINGS)
def distribute_page(sale_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        return render_template(SALES, form=forms.SaleForm(), **_context()), 400
    run = proceeds.distribute(
        db.session, current_actor(), sale_id, payout_rules(), chunk=PAID_PER_STATEMENT
    )
    flash(_("Proceeds shared among %(n)s participants.", n=run.participants), "success")
    return redirect(url_for("sales.sales_page"))


#: The shares CSV's columns: each amount names its unit.
SHARE_COLUMNS = ("participant_id", "grams", "fen", "yuan", "points", "kept", "paid")


@bureau_bp.get("/<int:sale_id>/shares.csv")
@requires(Permission.MANAGE_FILINGS)
def shares_csv(sale_id: int) -> Response:
    """Every participant's share of a distributed sale: what the bureau pays yuan owed from."""
    sales.get_sale(db.session, sale_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SHARE_COLUMNS)
    after = None
    while True:
        shares = proceeds.shares_in(db.session, sale_id, after=after, limit=1000)
        for share in shares:
            writer.writerow([
                share.participant_id, share.grams, share.fen, Decimal(share.fen).scaleb(-2),
                "" if share.points is None else share.points, int(share.kept), int(share.paid),
            ])  # fmt: skip
        if len(shares) < 1000:
            break
        after = shares[-1].participant_id
    return Response(
        buffer.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="sale-{sale_id}-shares.csv"'},
    )  # fmt: skip


@resident_bp.get("")
@requires(Permission.USE_WALLET)
def my_proceeds() -> str:
    return render_template(
        "filings/proceeds.html", lines=proceeds.shares_of(db.session, current_user.id)
    )


@resident_bp.get("/<int:sale_id>")
@requires(Permission.USE_WALLET)
def statement(sale_id: int) -> str:
    line = proceeds.statement_of(db.session, current_user.id, sale_id)
    return render_template("filings/statement.html", line=line)
