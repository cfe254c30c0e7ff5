"""Pages of carbon-neutral event claims: the organisation's requests and verification, the
bureau's two queues (claims and organisations to verify), and the public certificates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.accounts import services as accounts
from app.accounts import verification
from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.models import Organisation, Verification
from app.accounts.roles import Permission
from app.accounts.views import render_form_error
from app.context import city_zone
from app.db import db
from app.errors import DomainError
from app.filings import claims, donations, forms, units
from app.filings.models import RetirementPurpose
from app.redemption import qr

public_bp = Blueprint("filings_public", __name__)
claims_bp = Blueprint("filings_claims", __name__, url_prefix="/bureau")

OFFSETS = "filings/offsets.html"


def _rules() -> claims.ClaimRules:
    config = current_app.config
    return claims.ClaimRules(yearly_cap_g=config["OFFSET_CLAIM_CAP_G"], tz=city_zone())


def _offsets_page(org: Organisation, status: int = 200, **forms_given: Any) -> Any:
    context = _offsets_context(org)
    page_forms = {"form": forms.ClaimForm(), "verification_form": forms.VerificationForm()}
    page_forms |= forms_given
    return render_template(OFFSETS, **context, **page_forms), status


def _offsets_context(org: Organisation) -> dict[str, Any]:
    rules = _rules()
    return {
        "org": org,
        "verified": org.verification is Verification.VERIFIED,
        "claims": claims.claims_of(db.session, org.id),
        "available_g": units.active_units(db.session) * units.GRAMS_PER_UNIT,
        "requested_g": claims.requested_this_year(db.session, org.id, rules),
        "cap_g": rules.yearly_cap_g,
    }


@public_bp.route("/organisation/offsets", methods=["GET", "POST"])
@requires(Permission.CLAIM_OFFSETS)
def offsets() -> Any:
    org = accounts.organisation_of(db.session, current_user)
    form = forms.ClaimForm()
    if not form.is_submitted():
        return _offsets_page(org, form=form)
    if not form.validate():
        return _offsets_page(org, 400, form=form)
    try:
        claims.request_claim(
            db.session,
            current_actor(),
            _rules(),
            organisation_id=org.id,
            event_name=form.event_name.data,
            event_date=form.event_date.data,
            grams=claims.parse_tonnes(form.tonnes.data),
            beneficiary=form.beneficiary.data or org.name,
            purpose=RetirementPurpose(form.purpose.data),
        )
    except DomainError as error:
        return render_form_error(
            OFFSETS, form, error,
            verification_form=forms.VerificationForm(), **_offsets_context(org),
        )  # fmt: skip
    flash(_("Request sent. Once the bureau approves it, its certificate is public."), "success")
    return redirect(url_for("filings_public.offsets"))


@public_bp.post("/organisation/verification")
@requires(Permission.CLAIM_OFFSETS)
def request_verification() -> Any:
    org = accounts.organisation_of(db.session, current_user)
    form = forms.VerificationForm()
    if not form.validate_on_submit():
        return _offsets_page(org, 400, verification_form=form)
    try:
        verification.request_verification(
            db.session, current_actor(), org, credit_code=form.credit_code.data
        )
    except DomainError as error:
        field = form.credit_code if error.field == "credit_code" else None
        if field is None:
            raise
        field.errors = [*field.errors, str(error.message)]
        return _offsets_page(org, error.status, verification_form=form)
    flash(_("Sent to the bureau for verification."), "success")
    return redirect(url_for("filings_public.offsets"))


@public_bp.get("/certificates/<serial>")
def certificate(serial: str) -> str:
    claim = claims.claim_by_serial(db.session, serial)
    org = db.session.get(Organisation, claim.organisation_id)
    # The address printed on the certificate: anyone holding a copy checks it here.
    verify_url = url_for("filings_public.certificate", serial=claim.serial, _external=True)
    return render_template(
        "filings/certificate.html",
        claim=claim,
        org=org,
        ranges=claims.ranges_of(db.session, claim.id),
        purpose_name=forms.PURPOSE_NAMES[claim.purpose],
        donors=donations.donors_of(db.session, claim.id),
        verify_url=verify_url,
        verify_qr=qr.svg(verify_url),
    )


# -- the bureau ------------------------------------------------------------------------------------


def _claim_reject_form(claim_id: int) -> forms.ClaimDecisionForm:
    """Each request's form has its own prefix, so the fields' ids stay unique on the page."""
    return forms.ClaimDecisionForm(prefix=f"claim{claim_id}")


def _claims_queue(status: int = 200, failed: dict[int, Any] | None = None) -> Any:
    """The queue, with the refused form (by claim id) shown with its errors."""
    requests = claims.requested_claims(db.session)
    reject_forms = {claim.id: _claim_reject_form(claim.id) for claim, _org in requests}
    return render_template(
        "bureau/offset_claims.html",
        requests=requests,
        available_g=units.active_units(db.session) * units.GRAMS_PER_UNIT,
        approve_form=EmptyForm(),
        reject_forms=reject_forms | (failed or {}),
    ), status


@claims_bp.get("/offset-claims")
@requires(Permission.DECIDE_OFFSET_CLAIMS)
def claims_queue() -> Any:
    return _claims_queue()


@claims_bp.post("/offset-claims/<int:claim_id>/approve")
@requires(Permission.DECIDE_OFFSET_CLAIMS)
def approve_claim(claim_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        return _claims_queue(400)
    claim = claims.approve_claim(db.session, current_actor(), claim_id)
    flash(_("Approved. Certificate %(serial)s is public.", serial=claim.serial), "success")
    return redirect(url_for("filings_claims.claims_queue"))


@claims_bp.post("/offset-claims/<int:claim_id>/reject")
@requires(Permission.DECIDE_OFFSET_CLAIMS)
def reject_claim(claim_id: int) -> Any:
    form = _claim_reject_form(claim_id)
    if not form.validate_on_submit():
        return _claims_queue(400, {claim_id: form})
    try:
        claims.reject_claim(db.session, current_actor(), claim_id, reason=form.reason.data)
    except DomainError as error:
        if error.field != "reason":
            raise
        form.reason.errors = [*form.reason.errors, str(error.message)]
        return _claims_queue(error.status, {claim_id: form})
    flash(_("Rejected. Nothing was retired."), "success")
    return redirect(url_for("filings_claims.claims_queue"))


def _decision_form(organisation_id: int) -> forms.VerificationDecisionForm:
    return forms.VerificationDecisionForm(prefix=f"org{organisation_id}")


def _organisations_queue(status: int = 200, failed: dict[int, Any] | None = None) -> Any:
    """The queue, with the refused form (by organisation id) shown with its errors."""
    pending = verification.pending(db.session)
    decision_forms = {org.id: _decision_form(org.id) for org in pending}
    return render_template(
        "bureau/organisations.html",
        organisations=pending,
        decision_forms=decision_forms | (failed or {}),
    ), status


@claims_bp.get("/organisations")
@requires(Permission.VERIFY_ORGANISATIONS)
def organisations() -> Any:
    return _organisations_queue()


@claims_bp.post("/organisations/<int:organisation_id>/verify", defaults={"decision": "verify"})
@claims_bp.post("/organisations/<int:organisation_id>/reject", defaults={"decision": "reject"})
@requires(Permission.VERIFY_ORGANISATIONS)
def decide_organisation(organisation_id: int, decision: str) -> Response | Any:
    form = _decision_form(organisation_id)
    if not form.validate_on_submit():
        return _organisations_queue(400, {organisation_id: form})
    try:
        verification.decide(
            db.session, current_actor(), organisation_id,
            verified=decision == "verify", note=form.note.data or "",
        )  # fmt: skip
    except DomainError as error:
        if error.field != "note":
            raise
        form.note.errors = [*form.note.errors, str(error.message)]
        return _organisations_queue(error.status, {organisation_id: form})
    flash(_("Verified.") if decision == "verify" else _("Rejected."), "success")
    return redirect(url_for("filings_claims.organisations"))
