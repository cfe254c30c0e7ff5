"""Merchant pages: applying to join, stores, staff, the voucher key and the monthly statement.

The counter (``counter_views``) and offers (``offer_views``) are pages of the same ``merchant``
blueprint (``pages.bp``) in modules of their own; importing this module registers them all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.accounts import sessions
from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.models import MerchantRole
from app.accounts.roles import Permission
from app.accounts.views import render_form_error
from app.context import city_zone, current_manager, current_staff
from app.db import db
from app.errors import DomainError
from app.merchants import counter_views, forms, offer_views, services
from app.merchants.limits import application_limit
from app.merchants.models import MerchantKind, MerchantStatus, OfferStatus
from app.merchants.pages import bp
from app.redemption import settlement, voucher_keys

#: The modules whose pages are routes of this blueprint too: importing this module registers them.
PAGE_MODULES = (counter_views, offer_views)

OFFER_STATUS_NAMES = {
    OfferStatus.PENDING: _l("Waiting for the bureau"),
    OfferStatus.ACTIVE: _l("On offer"),
    OfferStatus.REJECTED: _l("Rejected"),
    OfferStatus.WITHDRAWN: _l("Withdrawn"),
}


MERCHANT_STATUS_NAMES = {
    MerchantStatus.PENDING: _l("Waiting for review"),
    MerchantStatus.APPROVED: _l("Approved"),
    MerchantStatus.REJECTED: _l("Rejected"),
    MerchantStatus.SUSPENDED: _l("Suspended"),
}
DECISION_NAMES = {
    services.Decision.APPROVE: _l("Approve"),
    services.Decision.REJECT: _l("Reject"),
    services.Decision.SUSPEND: _l("Suspend"),
    services.Decision.REINSTATE: _l("Reinstate"),
}
#: What each decision's button asks before it is sent.
DECISION_QUESTIONS = {
    services.Decision.APPROVE: _l("Approve? This cannot be undone."),
    services.Decision.REJECT: _l("Reject? This cannot be undone."),
    services.Decision.SUSPEND: _l("Suspend this merchant? Its offers stop at once."),
    services.Decision.REINSTATE: _l("Reinstate this merchant?"),
}


@bp.app_context_processor
def _merchant_globals() -> dict[str, Any]:
    return {
        "offer_status_names": {status.value: name for status, name in OFFER_STATUS_NAMES.items()},
        "merchant_status_names": {
            status.value: name for status, name in MERCHANT_STATUS_NAMES.items()
        },
        "decision_names": DECISION_NAMES,
        "decision_questions": DECISION_QUESTIONS,
    }


@bp.route("/merchants/apply", methods=["GET", "POST"])
@application_limit
def apply() -> Any:
    form = forms.ApplicationForm()
    template = "merchant/apply.html"
    if not form.validate_on_submit():
        return render_template(template, form=form), 400 if form.errors else 200
    try:
        merchant = services.apply(
            db.session,
            current_actor(),
            name=form.name.data,
            kind=MerchantKind(form.kind.data),
            credit_code=form.credit_code.data,
            contact_name=form.contact_name.data,
            contact_mobile=form.contact_mobile.data,
            password=form.password.data,
            stores=[services.StoreIn(form.store_name.data, form.store_address.data)],
        )
    except DomainError as error:
        return render_form_error(template, form, error)
    if not current_user.is_authenticated:
        manager = services.staff_of(db.session, merchant.id)[0]
        sessions.start(db.session, manager)
    flash(_("Thank you! The bureau will review your application."), "success")
    return redirect(url_for("public.home"))


# --- stores, staff ----------------------------------------------------------------------------


@bp.route("/merchant/stores", methods=["GET", "POST"])
@requires(Permission.MERCHANT_COUNTER)
def stores() -> Any:
    staff = current_staff()
    form = forms.StoreForm()

    def page(status: int = 200) -> tuple[str, int]:
        listed = services.stores_of(db.session, staff.merchant_id)
        return render_template(
            "merchant/stores.html", stores=listed, form=form, staff=staff
        ), status

    if request.method == "GET":
        return page()
    if not form.validate_on_submit():
        return page(400)
    try:
        services.add_store(
            db.session, current_actor(), staff, name=form.name.data, address=form.address.data
        )
    except DomainError as error:
        if error.field:
            form.name.errors = [*form.name.errors, str(error.message)]
        else:
            flash(str(error.message), "error")
        return page(error.status)
    flash(_("Store added."), "success")
    return redirect(url_for("merchant.stores"))


@bp.route("/merchant/staff", methods=["GET", "POST"])
@requires(Permission.MERCHANT_MANAGE)
def staff_list() -> Any:
    staff = current_manager()
    form = forms.StaffForm()
    stores = services.stores_of(db.session, staff.merchant_id)
    form.store_ids.choices = [SelectChoice(store.id, store.name) for store in stores]
    template = "merchant/staff.html"

    def context() -> dict[str, Any]:
        return {
            "members": services.staff_of(db.session, staff.merchant_id),
            "staff": staff,
            "stores": stores,
            "assigned": services.store_ids_by_cashier(db.session, staff.merchant_id),
            "toggle_form": EmptyForm(),
        }

    if request.method == "GET":
        if len(stores) == 1:
            form.store_ids.data = [stores[0].id]
        return render_template(template, form=form, **context())
    if not form.validate_on_submit():
        return render_template(template, form=form, **context()), 400
    try:
        user = services.add_staff(
            db.session,
            current_actor(),
            staff,
            mobile=form.mobile.data,
            password=form.password.data,
            display_name=form.display_name.data,
            merchant_role=MerchantRole(form.merchant_role.data),
            store_ids=form.store_ids.data or [],
        )
    except DomainError as error:
        return render_form_error(template, form, error, **context())
    flash(_("Account created for %(name)s.", name=user.display_name), "success")
    return redirect(url_for("merchant.staff_list"))


@bp.post("/merchant/staff/<int:user_id>/stores")
@requires(Permission.MERCHANT_MANAGE)
def staff_stores(user_id: int) -> Response:
    """A manager sets the stores where a cashier works."""
    form = forms.StaffStoresForm()
    if form.validate_on_submit():
        try:
            services.assign_stores(
                db.session, current_actor(), current_manager(), user_id, form.store_ids.data or []
            )
        except DomainError as error:
            flash(str(error.message), "error")
        else:
            flash(_("Saved."), "success")
    return redirect(url_for("merchant.staff_list"))


@bp.post("/merchant/staff/<int:user_id>/active")
@requires(Permission.MERCHANT_MANAGE)
def toggle_staff(user_id: int) -> Response:
    if EmptyForm().validate_on_submit():
        services.set_staff_active(
            db.session,
            current_actor(),
            current_manager(),
            user_id,
            active=request.form.get("active") == "1",
        )
        flash(_("Saved."), "success")
    return redirect(url_for("merchant.staff_list"))


# --- the voucher key --------------------------------------------------------------------------


def _voucher_key_page(staff: services.Staff, keys: voucher_keys.VoucherKeys | None) -> str:
    merchant = services.merchant_of(db.session, staff)
    return render_template(
        "merchant/voucher_key.html",
        merchant=merchant,
        keys=keys,
        example=voucher_keys.example(db.session, merchant.id, keys.current) if keys else None,
        offers=voucher_keys.offers_to_check(db.session, merchant.id),
        reference=voucher_keys.REFERENCE_CHECK,
        reveal_form=EmptyForm(),
        rotate_form=forms.RotateKeyForm(formdata=None),
    )


@bp.get("/merchant/voucher-key")
@requires(Permission.MERCHANT_MANAGE)
def voucher_key() -> str:
    """How the merchant's systems check voucher codes; the key itself only on request."""
    return _voucher_key_page(current_manager(), None)


@bp.post("/merchant/voucher-key/reveal")
@requires(Permission.MERCHANT_MANAGE)
def reveal_voucher_key() -> Any:
    """The page with the key (audited); answered to a POST so the key is in no URL or cache."""
    staff = current_manager()
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("merchant.voucher_key"))
    keys = voucher_keys.reveal(db.session, current_actor(), staff)
    response = make_response(_voucher_key_page(staff, keys))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/merchant/voucher-key/rotate")
@requires(Permission.MERCHANT_MANAGE)
def rotate_voucher_key() -> Response:
    staff = current_manager()
    if not forms.RotateKeyForm().validate_on_submit():
        flash(_("Tick the box to confirm that your systems will change to the new key."), "error")
        return redirect(url_for("merchant.voucher_key"))
    voucher_keys.rotate(db.session, current_actor(), staff, now=clock.now())
    flash(
        _(
            "A new key was made. Show it and set it in your systems; the previous key still "
            "checks the vouchers issued before now."
        ),
        "success",
    )
    return redirect(url_for("merchant.voucher_key"))


# --- settlement -------------------------------------------------------------------------------


def _statement_for(merchant_id: int, store_ids: list[int] | None) -> settlement.Statement:
    month = settlement.parse_month(
        request.args.get("month"), today=clock.now().astimezone(city_zone()).date()
    )
    stmt = settlement.statement(
        db.session,
        merchant_id,
        month,
        zone=city_zone(),
        yuan_per_point=current_app.config["YUAN_PER_POINT_SUBSIDY"],
    )
    return settlement.for_stores(stmt, store_ids)


def statement_page(
    merchant_id: int,
    csv_endpoint: str,
    csv_args: dict[str, Any] | None = None,
    *,
    store_ids: list[int] | None = None,
) -> str:
    """One merchant's statement as a page (also the bureau's view of it); only the stores
    ``store_ids`` when given (a cashier's)."""
    stmt = _statement_for(merchant_id, store_ids)
    return render_template(
        "merchant/settlement.html",
        stmt=stmt,
        zone=city_zone(),
        rate=current_app.config["YUAN_PER_POINT_SUBSIDY"],
        csv_url=url_for(csv_endpoint, month=stmt.month.strftime("%Y-%m"), **(csv_args or {})),
        previous_month=(stmt.month - timedelta(days=1)).strftime("%Y-%m"),
    )


def statement_csv(merchant_id: int, *, store_ids: list[int] | None = None) -> Response:
    stmt = _statement_for(merchant_id, store_ids)
    body = settlement.statement_csv(stmt, city_zone())
    filename = f"settlement-{stmt.merchant_id}-{stmt.month:%Y-%m}.csv"
    return Response(
        "\ufeff" + body,  # the BOM lets spreadsheet programs read the Chinese text as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.get("/merchant/settlement")
@requires(Permission.MERCHANT_COUNTER)
def merchant_settlement() -> str:
    staff = current_staff()
    return statement_page(
        staff.merchant_id,
        "merchant.merchant_settlement_csv",
        store_ids=services.visible_store_ids(db.session, staff),
    )


@bp.get("/merchant/settlement.csv")
@requires(Permission.MERCHANT_COUNTER)
def merchant_settlement_csv() -> Response:
    staff = current_staff()
    return statement_csv(staff.merchant_id, store_ids=services.visible_store_ids(db.session, staff))
