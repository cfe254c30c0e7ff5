"""The merchant's counter: scan or type a resident's code, preview it, confirm, and reverse a
redemption within its window. Kept apart from the other merchant pages because it is the one page
family on the redemption path (typed-code limits, refusals kept in the audit trail)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask import session as web_session
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.context import city_zone, current_staff, reward_types, token_key
from app.db import db
from app.error_handlers import keeping_writes
from app.errors import DomainError
from app.merchants import forms, services
from app.merchants.pages import bp, locale
from app.redemption import services as redemption
from app.redemption.code_limits import counting_failed_codes, typed_code_limits

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
    summary = reward_types()[preview.reward_type].summary(preview.config).in_locale(locale())
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
    return render_template("merchant/scan_result.html", confirmed=confirmed, locale=locale())


@bp.get("/merchant/redemptions")
@requires(Permission.MERCHANT_COUNTER)
def redemptions() -> str:
    staff = current_staff()
    rows = redemption.recent_redemptions(
        db.session, staff.merchant_id, store_ids=services.visible_store_ids(db.session, staff)
    )
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
