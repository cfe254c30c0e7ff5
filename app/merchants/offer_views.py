"""The merchant's offers: the list, a new offer in two steps (reward type, then its settings),
edits and withdrawal. Kept apart because offer forms carry a plugin's own settings and the city's
dates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.roles import Permission
from app.accounts.views import render_form_error
from app.context import city_zone, current_manager, current_staff, reward_types
from app.db import db
from app.errors import DomainError, NotFound
from app.merchants import forms, offers, services
from app.merchants.models import Offer, OfferStatus
from app.merchants.pages import bp, locale
from rewards.base import RewardType


@bp.get("/merchant/offers")
@requires(Permission.MERCHANT_COUNTER)
def offer_list() -> str:
    staff = current_staff()
    return render_template(
        "merchant/offers.html",
        offers=offers.offers_of_merchant(db.session, staff.merchant_id),
        staff=staff,
        types=reward_types(),
        locale=locale(),
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
        title_en=form.title_en.data or "",
        terms=form.terms.data or "",
        points_price=form.points_price.data,
        stock=form.stock.data,
        daily_limit=form.daily_limit.data,
        monthly_limit=form.monthly_limit.data,
        valid_from=valid_from,
        valid_until=valid_until,
        store_ids=form.store_ids.data or [],
    )


def _config_errors(
    reward_type: str, config_fields: list[forms.ConfigField], types: Mapping[str, type[RewardType]]
) -> dict[str, list[str]]:
    """The reward settings' errors, shown with the form's own: every error appears at once."""
    try:
        offers.check_config(reward_type, forms.config_from_form(config_fields), types)
    except DomainError as error:
        return forms.config_messages(config_fields, error.details.get("config_errors", {}))
    return {}


def _offer_page_context(
    reward_type: type[RewardType], config_fields: list[forms.ConfigField], **extra: Any
) -> dict[str, Any]:
    return {
        "reward_type": reward_type,
        "config_fields": config_fields,
        "config_errors": {},
        "locale": locale(),
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
        return render_template("merchant/offer_type.html", types=types, locale=locale())
    form = forms.OfferForm(reward_type=chosen)
    stores = services.stores_of(db.session, staff.merchant_id)
    form.store_ids.choices = [SelectChoice(store.id, store.name) for store in stores]
    config_fields = forms.config_fields(types[chosen], locale(), request.form)
    context = _offer_page_context(types[chosen], config_fields)
    template = "merchant/offer_form.html"
    if request.method == "GET":
        today = clock.now().astimezone(city_zone()).date()
        form.valid_from.data, form.valid_until.data = today, today + timedelta(days=90)
        form.store_ids.data = [store.id for store in stores]
        return render_template(template, form=form, **context)
    if not form.validate_on_submit():
        context["config_errors"] = _config_errors(chosen, config_fields, types)
        return render_template(template, form=form, **context), 400
    data = _offer_in(form, chosen, config_fields)
    try:
        offer = offers.create_offer(db.session, current_actor(), staff, data, reward_types=types)
    except DomainError as error:
        context["config_errors"] = forms.config_messages(
            config_fields, error.details.get("config_errors", {})
        )
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
        title_en=offer.title_en,
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
    config_fields = forms.config_fields(types[offer.reward_type], locale(), submitted)
    context = _offer_page_context(types[offer.reward_type], config_fields, editing=offer)
    template = "merchant/offer_form.html"
    if request.method == "GET":
        return render_template(template, form=form, **context)
    if not form.validate_on_submit():
        context["config_errors"] = _config_errors(offer.reward_type, config_fields, types)
        return render_template(template, form=form, **context), 400
    data = _offer_in(form, offer.reward_type, config_fields, editing=offer)
    was_pending = offer.status == OfferStatus.PENDING
    try:
        offer = offers.edit_offer(
            db.session, current_actor(), staff, offer_id, data, reward_types=types
        )
    except DomainError as error:
        context["config_errors"] = forms.config_messages(
            config_fields, error.details.get("config_errors", {})
        )
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
