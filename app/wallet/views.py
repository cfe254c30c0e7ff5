"""Pages: the wallet of a resident or organisation, and the bureau's ledger tools."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import clock
from app.accounts import approvals
from app.accounts.auth import current_actor, requires
from app.accounts.code_views import refusals_shown, show_refusal
from app.accounts.models import User
from app.accounts.roles import Permission
from app.context import ledger_policy, methodologies
from app.db import db
from app.errors import DomainError
from app.ledger import services as ledger
from app.ledger.postings import require_wallet_holder
from app.wallet import history
from app.wallet.daychart import points_chart
from app.wallet.forms import AdjustmentForm, WalletLookupForm

bp = Blueprint("wallet", __name__)
bureau_bp = Blueprint("ledger_bureau", __name__, url_prefix="/bureau")

HISTORY_PAGE = 20
NO_SUCH_HOLDER = _l("No resident or organisation has this mobile number.")


def _methodologies() -> Any:
    return methodologies()


def _wallet_context(holder_id: int) -> dict[str, Any]:
    summary = ledger.wallet_summary(db.session, holder_id, now=clock.now(), policy=ledger_policy())
    page = history.history(
        db.session,
        holder_id,
        limit=HISTORY_PAGE,
        cursor=request.args.get("cursor"),
        methodologies=_methodologies(),
    )
    return {"summary": summary, "page": page, "chart": points_chart(summary.month)}


@bp.get("/wallet")
@requires(Permission.USE_WALLET)
def wallet() -> str:
    return render_template("wallet/index.html", **_wallet_context(current_user.id))


@bureau_bp.get("/wallets")
@requires(Permission.READ_LEDGER)
def wallets() -> Any:
    form = WalletLookupForm(request.args)
    if not request.args.get("mobile"):
        return render_template("bureau/ledger_wallets.html", form=form, holder=None)
    try:
        holder = history.find_holder(db.session, form.mobile.data or "")
    except DomainError:
        form.mobile.errors = [str(NO_SUCH_HOLDER)]
        return render_template("bureau/ledger_wallets.html", form=form, holder=None), 404
    return _holder_page(holder, form, AdjustmentForm())


def _holder_page(
    holder: User, form: WalletLookupForm, adjust_form: AdjustmentForm, status: int = 200
) -> tuple[str, int]:
    html = render_template(
        "bureau/ledger_wallets.html",
        form=form,
        holder=holder,
        adjust_form=adjust_form,
        **_wallet_context(holder.id),
    )
    return html, status


@bureau_bp.post("/wallets/<int:user_id>/adjustments")
@requires(Permission.MANAGE_LEDGER)
def adjust(user_id: int) -> Any:
    holder = require_wallet_holder(db.session, user_id)
    form = AdjustmentForm()
    lookup = WalletLookupForm(data={"mobile": holder.mobile})
    if not form.validate_on_submit():  # what the form could read is checked too, all at once
        with refusals_shown(form):
            ledger.check_adjustment(form.points.data, form.reason.data)
        return _holder_page(holder, lookup, form, 400)
    threshold = current_app.config["WALLET_ADJUSTMENT_APPROVAL_POINTS"]
    adjustment = {
        "holder_id": holder.id,
        "points": form.points.data,
        "reason": form.reason.data,
        "idempotency_key": form.idempotency_key.data,
    }
    try:
        ledger.check_adjustment(form.points.data, form.reason.data)
        if abs(form.points.data) > threshold:
            approvals.request_adjustment(db.session, current_actor(), **adjustment)
            flash(
                _(
                    "An adjustment of more than %(threshold)s points needs a second admin: it "
                    "waits for their approval.",
                    threshold=f"{threshold:,}",
                ),
                "success",
            )
            return redirect(url_for("bureau_approvals.approvals_page"))
        posted = ledger.adjust(
            db.session, current_actor(), policy=ledger_policy(), approval_threshold=threshold,
            **adjustment,
        )  # fmt: skip
    except DomainError as error:
        show_refusal(form, error)
        return _holder_page(holder, lookup, form, error.status)
    flash(
        _(
            "Adjustment of %(points)s points posted; the balance is now %(balance)s.",
            points=f"{form.points.data:+,}",
            balance=f"{posted.balance:,}",
        ),
        "success",
    )
    return redirect(url_for("ledger_bureau.wallets", mobile=holder.mobile))


@bureau_bp.get("/ledger")
@requires(Permission.READ_LEDGER)
def totals() -> str:
    return render_template("bureau/ledger_totals.html", totals=ledger.totals(db.session))
