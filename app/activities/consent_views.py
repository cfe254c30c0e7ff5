"""Pages: a resident's consents to data partners, withdrawing one, and answering a partner that
began reporting their kind of card, account or meter after they linked it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import context as edge
from app.accounts import consents as account_consents
from app.accounts.auth import requires
from app.accounts.forms import EmptyForm
from app.accounts.roles import Permission
from app.activities import consents, links
from app.db import db
from app.errors import DomainError

bp = Blueprint("consents", __name__)

#: The two answers a partner's request takes (the button's value).
ANSWERS = {"agree": True, "decline": False}


def _page(status: int = 200) -> tuple[str, int]:
    html = render_template(
        "activities/consents.html",
        consents=account_consents.consents_of(db.session, current_user.id),
        asks=consents.asks(db.session, current_user.id, edge.methodologies()),
        withdraw_form=EmptyForm(),
    )
    return html, status


@bp.get("/me/consents")
@requires(Permission.USE_WALLET)
def my_consents() -> tuple[str, int]:
    return _page()


@bp.post("/me/consents/<int:consent_id>/withdraw")
@requires(Permission.USE_WALLET)
def withdraw_consent(consent_id: int) -> Any:
    """Withdraw a partner's consent: its records for the identifier are no longer credited and
    those held for it are purged."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("consents.my_consents"))
    try:
        withdrawal = account_consents.withdraw(
            db.session, current_user.id, consent_id, channel="web"
        )
    except DomainError as error:
        flash(str(error.message), "error")
        return _page(error.status)
    purged = consents.purge_held_for(db.session, withdrawal, edge.pipeline_settings().now)
    flash(
        _(
            "Consent withdrawn: %(partner)s's records are no longer credited. %(n)s waiting "
            "activities were deleted.",
            partner=withdrawal.partner_name,
            n=purged,
        ),
        "success",
    )
    return redirect(url_for("consents.my_consents"))


@bp.post("/me/consents/links/<int:link_id>/partners/<int:partner_id>")
@requires(Permission.USE_WALLET)
def answer_partner(link_id: int, partner_id: int) -> Any:
    """Consent to a partner asking about a link (what it sent meanwhile is credited) or decline
    it (what it sent meanwhile is deleted)."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("consents.my_consents"))
    agree = ANSWERS.get(request.form.get("answer", ""))
    try:
        if agree is None:
            raise DomainError("invalid_answer", _("Choose to agree or to decline."), status=400)
        answer = links.answer_partner(
            db.session, current_user.id, link_id, partner_id, agree=agree, channel="web",
            settings=edge.pipeline_settings(),
        )  # fmt: skip
    except DomainError as error:
        flash(str(error.message), "error")
        return _page(error.status)
    partner = answer.consent.partner_name
    if agree:
        message = _(
            "You agreed: %(partner)s's records are credited. %(n)s waiting activities were "
            "checked.",
            partner=partner,
            n=len(answer.released),
        )
    else:
        message = _(
            "You declined: %(partner)s's records are not used. %(n)s waiting activities were "
            "deleted.",
            partner=partner,
            n=answer.purged,
        )
    flash(message, "success")
    return redirect(url_for("consents.my_consents"))
