"""Pages: a resident or organisation gives free reductions to a carbon-neutral event."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.accounts.views import render_form_error
from app.db import db
from app.errors import DomainError, NotFound
from app.filings import donations, forms

bp = Blueprint("donations", __name__, url_prefix="/me/donations")

PAGE = "filings/donate.html"


def parse_kilograms(text: str) -> int:
    """Kilograms as typed (up to 3 decimals) to whole grams."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        value = Decimal(-1)
    grams = value * 1000
    if not value.is_finite() or value <= 0 or grams != grams.to_integral_value() or grams > 10**12:
        raise DomainError(
            "invalid_grams",
            _l("Enter kilograms above zero, with at most 3 decimal places."),
            field="kilograms",
        )
    return int(grams)


def _context() -> dict[str, Any]:
    return {"free_g": donations.free_grams(db.session, current_user.id)}


@bp.route("", methods=["GET", "POST"])
@requires(Permission.USE_WALLET)
def donate() -> Any:
    form = forms.DonationForm()
    if not form.is_submitted():
        return render_template(PAGE, form=form, **_context())
    if not form.validate():
        return render_template(PAGE, form=form, **_context()), 400
    try:
        donation = donations.donate(
            db.session, current_actor(), donor_id=current_user.id,
            certificate=form.certificate.data, grams=parse_kilograms(form.kilograms.data),
        )  # fmt: skip
    except NotFound:
        db.session.rollback()
        error = DomainError(
            "unknown_certificate", _l("No event has this certificate number."),
            field="certificate", status=404,
        )  # fmt: skip
        return render_form_error(PAGE, form, error, **_context())
    except DomainError as error:
        db.session.rollback()
        return render_form_error(PAGE, form, error, **_context())
    flash(_("Thank you: you gave %(kg)s kg CO2e.", kg=f"{donation.donated_g / 1000:g}"), "success")
    return redirect(url_for("donations.donate"))
