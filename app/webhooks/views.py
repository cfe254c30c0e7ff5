"""The partner's webhooks page in the merchant console: endpoints, deliveries and attempts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.roles import Permission
from app.context import current_manager
from app.db import db
from app.errors import DomainError
from app.webhooks import endpoints
from app.webhooks.addresses import MAX_URL_LENGTH
from app.webhooks.models import EventType

bp = Blueprint("webhooks", __name__)

EVENT_NAMES = {
    EventType.REDEMPTION_CONFIRMED: _l("Redemption confirmed"),
    EventType.REDEMPTION_REVERSED: _l("Redemption reversed"),
    EventType.VOUCHER_USED: _l("Voucher used"),
    EventType.GRANT_REVOKED: _l("Authorisation revoked"),
}
STATUS_NAMES = {
    "pending": _l("Waiting to retry"),
    "succeeded": _l("Acknowledged"),
    "failed": _l("Given up"),
}
OUTCOME_NAMES = {
    "acknowledged": _l("Acknowledged"),
    "http_error": _l("Error answer"),
    "redirect": _l("Redirect (not followed)"),
    "timeout": _l("No answer in time"),
    "unreachable": _l("Unreachable"),
    "refused_address": _l("Address not allowed"),
}


class EndpointForm(FlaskForm):
    url = StringField(_l("Endpoint URL"), validators=[InputRequired(), Length(max=MAX_URL_LENGTH)])
    description = StringField(_l("Description (optional)"), validators=[Length(max=200)])
    event_types = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(member.value, name) for member, name in EVENT_NAMES.items()],
        validators=[InputRequired()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


def _page(form: EndpointForm, *, secret: str | None = None, status: int = 200) -> Any:
    merchant_id = current_manager().merchant_id
    page = endpoints.deliveries_page(db.session, merchant_id, limit=50, cursor=None)
    response = make_response(
        render_template(
            "merchant/webhooks.html",
            form=form,
            endpoints=endpoints.endpoints_of(db.session, merchant_id),
            deliveries=page["items"],
            secret=secret,
            disable_form=EmptyForm(),
            event_names={member.value: name for member, name in EVENT_NAMES.items()},
            status_names=STATUS_NAMES,
            outcome_names=OUTCOME_NAMES,
        ),
        status,
    )
    if secret:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/merchant/webhooks")
@requires(Permission.MERCHANT_MANAGE)
def page() -> Any:
    """Endpoints and the latest deliveries with their attempts (managers only)."""
    return _page(EndpointForm(formdata=None))


@bp.post("/merchant/webhooks")
@requires(Permission.MERCHANT_MANAGE)
def register() -> Any:
    """Register an endpoint; the page shows its signing secret this once."""
    form = EndpointForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        registered = endpoints.register(
            db.session,
            current_actor(),
            merchant_id=current_manager().merchant_id,
            url=form.url.data,
            event_types=form.event_types.data,
            description=form.description.data,
            allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_URLS"],
            now=clock.now(),
        )
    except DomainError as error:
        field = getattr(form, error.field, None) if error.field else None
        if field is not None:
            field.errors = [*field.errors, str(error.message)]
        else:
            flash(str(error.message), "error")
        return _page(form, status=error.status)
    flash(_("The endpoint is registered. Copy its signing secret now: it is shown only once."),
          "success")  # fmt: skip
    return _page(EndpointForm(formdata=None), secret=registered.secret, status=201)


@bp.post("/merchant/webhooks/<int:endpoint_id>/disable")
@requires(Permission.MERCHANT_MANAGE)
def disable(endpoint_id: int) -> Any:
    """Stop sending to an endpoint."""
    if EmptyForm().validate_on_submit():
        endpoints.disable(
            db.session,
            current_actor(),
            merchant_id=current_manager().merchant_id,
            endpoint_id=endpoint_id,
            now=clock.now(),
        )
        flash(_("The endpoint is disabled: nothing more is sent to it."), "success")
    return redirect(url_for("webhooks.page"))
