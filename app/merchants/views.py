"""Merchant pages: applying to join, the counter (scan, confirm, reverse), offers, stores, staff,
and the monthly statement."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as web_session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.models import MerchantRole
from app.accounts.roles import Permission
from app.accounts.views import render_form_error
from app.context import (
    city_zone,
    current_manager,
    current_staff,
    reward_types,
    token_key,
)
from app.db import db
from app.error_handlers import keeping_writes
from app.errors import DomainError, NotFound
from app.merchants import forms, offers, services, voucher_keys
from app.merchants.models import MerchantKind, MerchantStatus, Offer, OfferStatus
from app.redemption import services as redemption
from app.redemption import settlement
from app.redemption.code_limits import counting_failed_codes, typed_code_limits
from rewards.base import RewardType

bp = Blueprint("merchant", __name__)


OFFER_STATUS_NAMES = {
    OfferStatus.PENDING: _l("Waiting for the bureau"),
    OfferStatus.ACTIVE: _l("On offer"),
    OfferStatus.REJECTED: _l("Rejected"),
    OfferStatus.WITHDRAWN: _l("Withdrawn"),
}


def _locale() -> str:
    return str(get_locale() or "zh")


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


@bp.app_context_processor
def _merchant_globals() -> dict[str, Any]:
    return {
        "offer_status_names": {status.value: name for status, name in OFFER_STATUS_NAMES.items()},
        "merchant_status_names": {
            status.value: name for status, name in MERCHANT_STATUS_NAMES.items()
        },
        "decision_names": DECISION_NAMES,
    }


@bp.route("/merchants/apply", methods=["GET", "POST"])
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
        login_user(manager)
    flash(_("Thank you! The bureau will review your application."), "success")
    return redirect(url_for("public.home"))


# --- the counter ------------------------------------------------------------------------------


#: The store the staff member last scanned at, preselected on the next scan.
_COUNTER_STORE = "counter_store_id"


def _scan_form(*, submitted: bool = True) -> forms.ScanForm:
    """The scan form, with the stores the staff member works at to choose from."""
    form = forms.ScanForm() if submitted else forms.ScanForm(formdata=None)
    stores = services.counter_stores(db.session, current_staff())
    form.store_id.choices = [SelectChoice(store.id, store.name) for store in stores]
    if form.store_id.data is None:
        form.store_id.data = web_session.get(_COUNTER_STORE)
    return form


def _scan_page(form: forms.ScanForm, status: int = 200) -> tuple[str, int]:
    return render_template("merchant/scan.html", form=form), status


def _refused(form: forms.ScanForm, error: DomainError) -> tuple[str, int]:
    """The scan page with the refusal next to the store choice or the code."""
    on_store = error.field == "store_id" and len(form.store_id.choices) > 1
    target = form.store_id if on_store else form.token
    target.errors = [*target.errors, str(error.message)]
    return _scan_page(form, error.status)


@bp.get("/merchant/scan")
@requires(Permission.MERCHANT_COUNTER)
def scan() -> Any:
    return _scan_page(_scan_form())


@bp.post("/merchant/scan")
@requires(Permission.MERCHANT_COUNTER)
@typed_code_limits
def scan_preview() -> Any:
    """Show what the scanned or typed code would redeem, with a button to confirm."""
    form = _scan_form()
    if not form.validate_on_submit():
        return _scan_page(form, 400)
    try:
        with counting_failed_codes(form.token.data):
            preview = redemption.preview(
                db.session,
                current_staff(),
                form.token.data,
                store_id=form.store_id.data,
                now=clock.now(),
                key=token_key(),
                zone=city_zone(),
            )
    except DomainError as error:
        return _refused(form, error)
    web_session[_COUNTER_STORE] = preview.store_id
    summary = reward_types()[preview.reward_type].summary(preview.config).in_locale(_locale())
    confirm_form = forms.ConfirmForm(token=form.token.data, store_id=preview.store_id)
    return render_template(
        "merchant/scan_preview.html", preview=preview, summary=summary, form=confirm_form
    )


@bp.post("/merchant/scan/confirm")
@requires(Permission.MERCHANT_COUNTER)
@typed_code_limits
def scan_confirm() -> Any:
    form = forms.ConfirmForm()
    if not form.validate_on_submit():
        return _scan_page(_scan_form(submitted=False), 400)
    try:
        with keeping_writes(), counting_failed_codes(form.token.data):
            confirmed = redemption.confirm(
                db.session,
                current_staff(),
                form.token.data,
                store_id=form.store_id.data,
                now=clock.now(),
                key=token_key(),
                zone=city_zone(),
                reward_types=reward_types(),
            )
    except DomainError as error:
        return _refused(_scan_form(submitted=False), error)
    return render_template("merchant/scan_result.html", confirmed=confirmed, locale=_locale())


@bp.get("/merchant/redemptions")
@requires(Permission.MERCHANT_COUNTER)
def redemptions() -> str:
    staff = current_staff()
    rows = redemption.recent_redemptions(db.session, staff.merchant_id)
    return render_template(
        "merchant/redemptions.html",
        rows=rows,
        staff=staff,
        form=forms.ReverseForm(),
        reversible_after=clock.now() - redemption.REVERSAL_WINDOW,
    )


@bp.post("/merchant/redemptions/<int:redemption_id>/reverse")
@requires(Permission.MERCHANT_MANAGE)
def reverse(redemption_id: int) -> Any:
    form = forms.ReverseForm()
    if not form.validate_on_submit():
        flash(_("Give a reason for the reversal."), "error")
        return redirect(url_for("merchant.redemptions")), 303
    redemption.reverse(
        db.session,
        current_actor(),
        current_staff(),
        redemption_id,
        reason=form.reason.data,
        now=clock.now(),
    )
    flash(_("The redemption was reversed: points and stock are back."), "success")
    return redirect(url_for("merchant.redemptions"))


# --- offers, stores, staff --------------------------------------------------------------------


@bp.get("/merchant/offers")
@requires(Permission.MERCHANT_COUNTER)
def offer_list() -> str:
    staff = current_staff()
    return render_template(
        "merchant/offers.html",
        offers=offers.offers_of_merchant(db.session, staff.merchant_id),
        staff=staff,
        types=reward_types(),
        locale=_locale(),
        withdraw_form=EmptyForm(),
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=city_zone())


def _local_day(instant: datetime, *, end: bool = False) -> date:
    """The city's date of an instant; ``end`` for an exclusive end (the day before)."""
    if end:
        instant -= timedelta(microseconds=1)
    return instant.astimezone(city_zone()).date()


def _offer_in(
    form: forms.OfferForm,
    reward_type: str,
    config_fields: list[forms.ConfigField],
    editing: Offer | None = None,
) -> offers.OfferIn:
    """The form as the service takes it.

    An edit keeps a start or end whose day is unchanged exactly as it was: an API client may
    have set a time of day, which the form's dates cannot show.
    """
    valid_from = _local_midnight(form.valid_from.data)
    valid_until = _local_midnight(form.valid_until.data + timedelta(days=1))
    if editing is not None:
        if form.valid_from.data == _local_day(editing.valid_from):
            valid_from = editing.valid_from
        if form.valid_until.data == _local_day(editing.valid_until, end=True):
            valid_until = editing.valid_until
    return offers.OfferIn(
        reward_type=reward_type,
        config=forms.config_from_form(config_fields),
        title=form.title.data,
        terms=form.terms.data or "",
        points_price=form.points_price.data,
        stock=form.stock.data,
        daily_limit=form.daily_limit.data,
        monthly_limit=form.monthly_limit.data,
        valid_from=valid_from,
        valid_until=valid_until,
        store_ids=form.store_ids.data or [],
    )


def _offer_page_context(
    reward_type: type[RewardType], config_fields: list[forms.ConfigField], **extra: Any
) -> dict[str, Any]:
    return {
        "reward_type": reward_type,
        "config_fields": config_fields,
        "config_errors": {},
        "locale": _locale(),
        "editing": None,
    } | extra


@bp.route("/merchant/offers/new", methods=["GET", "POST"])
@requires(Permission.MERCHANT_MANAGE)
def new_offer() -> Any:
    """Two steps on one page: choose a reward type, then fill in the offer and its settings."""
    staff = current_manager()
    types = reward_types()
    chosen = request.values.get("reward_type", "")
    if chosen not in types:
        return render_template("merchant/offer_type.html", types=types, locale=_locale())
    form = forms.OfferForm(reward_type=chosen)
    stores = services.stores_of(db.session, staff.merchant_id)
    form.store_ids.choices = [SelectChoice(store.id, store.name) for store in stores]
    config_fields = forms.config_fields(types[chosen], _locale(), request.form)
    context = _offer_page_context(types[chosen], config_fields)
    template = "merchant/offer_form.html"
    if request.method == "GET":
        today = clock.now().astimezone(city_zone()).date()
        form.valid_from.data, form.valid_until.data = today, today + timedelta(days=90)
        form.store_ids.data = [store.id for store in stores]
        return render_template(template, form=form, **context)
    if not form.validate_on_submit():
        return render_template(template, form=form, **context), 400
    data = _offer_in(form, chosen, config_fields)
    try:
        offer = offers.create_offer(db.session, current_actor(), staff, data, reward_types=types)
    except DomainError as error:
        context["config_errors"] = error.details.get("config_errors", {})
        return render_form_error(template, form, error, **context)
    if offer.public_service:
        flash(
            _("Offer saved. The bureau approves public-service offers before they go live."),
            "success",
        )
    else:
        flash(_("Offer published."), "success")
    return redirect(url_for("merchant.offer_list"))


@bp.route("/merchant/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@requires(Permission.MERCHANT_MANAGE)
def edit_offer(offer_id: int) -> Any:
    """Change an offer; a public-service one goes back to the bureau when its terms change."""
    staff = current_manager()
    offer = offers.merchant_offer(db.session, staff.merchant_id, offer_id)
    types = reward_types()
    if offer.reward_type not in types:
        raise NotFound("offer")
    form = forms.OfferForm(
        reward_type=offer.reward_type,
        title=offer.title,
        terms=offer.terms,
        points_price=offer.points_price,
        stock=offer.stock,
        daily_limit=offer.daily_limit,
        monthly_limit=offer.monthly_limit,
        valid_from=_local_day(offer.valid_from),
        valid_until=_local_day(offer.valid_until, end=True),
        store_ids=[store.id for store in offer.stores],
    )
    stores = services.stores_of(db.session, staff.merchant_id)
    form.store_ids.choices = [SelectChoice(store.id, store.name) for store in stores]
    submitted = request.form if request.method == "POST" else forms.config_values(offer.config)
    config_fields = forms.config_fields(types[offer.reward_type], _locale(), submitted)
    context = _offer_page_context(types[offer.reward_type], config_fields, editing=offer)
    template = "merchant/offer_form.html"
    if request.method == "GET":
        return render_template(template, form=form, **context)
    if not form.validate_on_submit():
        return render_template(template, form=form, **context), 400
    data = _offer_in(form, offer.reward_type, config_fields, editing=offer)
    was_pending = offer.status == OfferStatus.PENDING
    try:
        offer = offers.edit_offer(
            db.session, current_actor(), staff, offer_id, data, reward_types=types
        )
    except DomainError as error:
        context["config_errors"] = error.details.get("config_errors", {})
        return render_form_error(template, form, error, **context)
    if offer.status == OfferStatus.PENDING and not was_pending:
        flash(_("Offer saved. It goes live again once the bureau approves the change."), "success")
    else:
        flash(_("Offer saved."), "success")
    return redirect(url_for("merchant.offer_list"))


@bp.post("/merchant/offers/<int:offer_id>/withdraw")
@requires(Permission.MERCHANT_MANAGE)
def withdraw_offer(offer_id: int) -> Response:
    if EmptyForm().validate_on_submit():
        offers.withdraw_offer(db.session, current_actor(), current_manager(), offer_id)
        flash(_("The offer was withdrawn."), "success")
    return redirect(url_for("merchant.offer_list"))


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


def _statement_for(merchant_id: int) -> settlement.Statement:
    month = settlement.parse_month(
        request.args.get("month"), today=clock.now().astimezone(city_zone()).date()
    )
    return settlement.statement(
        db.session,
        merchant_id,
        month,
        zone=city_zone(),
        yuan_per_point=current_app.config["YUAN_PER_POINT_SUBSIDY"],
    )


def statement_page(
    merchant_id: int, csv_endpoint: str, csv_args: dict[str, Any] | None = None
) -> str:
    """One merchant's statement as a page (also the bureau's view of it)."""
    stmt = _statement_for(merchant_id)
    return render_template(
        "merchant/settlement.html",
        stmt=stmt,
        zone=city_zone(),
        rate=current_app.config["YUAN_PER_POINT_SUBSIDY"],
        csv_url=url_for(csv_endpoint, month=stmt.month.strftime("%Y-%m"), **(csv_args or {})),
        previous_month=(stmt.month - timedelta(days=1)).strftime("%Y-%m"),
    )


def statement_csv(merchant_id: int) -> Response:
    stmt = _statement_for(merchant_id)
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
    return statement_page(current_staff().merchant_id, "merchant.merchant_settlement_csv")


@bp.get("/merchant/settlement.csv")
@requires(Permission.MERCHANT_COUNTER)
def merchant_settlement_csv() -> Response:
    return statement_csv(current_staff().merchant_id)
