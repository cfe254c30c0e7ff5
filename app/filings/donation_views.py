"""Pages: a resident or organisation gives free reductions to a carbon-neutral event."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import units
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.accounts.views import render_form_error
from app.db import db
from app.errors import DomainError
from app.filings import donations, forms

bp = Blueprint("donations", __name__, url_prefix="/me/donations")

PAGE = "filings/donate.html"


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
            certificate=form.certificate.data,
            grams=donations.parse_kilograms(form.kilograms.data),
        )  # fmt: skip
    except DomainError as error:
        db.session.rollback()
        return render_form_error(PAGE, form, error, **_context())
    flash(_("Thank you: you gave %(kg)s CO2e.", kg=units.kilograms(donation.donated_g)), "success")
    return redirect(url_for("donations.donate"))
