"""Pages: residents' activities, links and self-reports; the bureau's review queue and partners."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app import clock
from app import context as edge
from app.accounts.auth import current_actor, requires
from app.accounts.code_views import refusals_shown, render_form_error, show_refusal
from app.accounts.forms import EmptyForm
from app.accounts.roles import Permission
from app.activities import consents, evidence, forms, links, partners, queries, review, self_reports
from app.activities.kinds import STATUS_NAMES, identifier_name, kind_name, labelled_quantities
from app.api.ids import parse_id
from app.db import db
from app.errors import Checks, DomainError

bp = Blueprint("activities", __name__)


def _zone() -> ZoneInfo:
    return edge.city_zone()


# --- residents ----------------------------------------------------------------------------------


@bp.get("/activities")
@requires(Permission.USE_WALLET)
def my_activities() -> str:
    page = queries.participant_page(
        db.session, current_user.id, limit=30, cursor=request.args.get("cursor")
    )
    return render_template(
        "activities/list.html", page=page, zone=_zone(), status_names=STATUS_NAMES
    )


def _chinese() -> bool:
    return str(get_locale() or "zh").startswith("zh")


@bp.route("/activities/report", methods=["GET", "POST"])
@requires(Permission.USE_WALLET)
def self_report() -> Any:
    catalogue = edge.kind_catalogue()
    form = forms.SelfReportForm.build(catalogue, _chinese())
    template = "activities/report.html"
    context = {
        "max_bytes": current_app.config["EVIDENCE_MAX_BYTES"],
        "fields": {
            kind.code: kind.self_report.fields
            for kind in catalogue.self_reportable()
            if kind.self_report is not None
        },
        "quantity_names": form.quantity_names,
    }
    if not form.is_submitted():
        form.occurred_at.data = clock.now().astimezone(_zone()).replace(tzinfo=None, second=0)
        return render_template(template, form=form, **context)
    valid = form.validate()
    upload = form.evidence.data
    max_bytes = current_app.config["EVIDENCE_MAX_BYTES"]
    data = upload.read(max_bytes + 1) if upload else None
    when = form.occurred_at.data
    report = {
        "kind": form.kind.data,
        "occurred_at": when.replace(tzinfo=_zone())
        if when and not form.occurred_at.errors
        else None,
        "quantities": form.quantities(),
        "evidence": data,
        "evidence_max_bytes": max_bytes,
        "settings": edge.pipeline_settings(),
    }
    if not valid:  # what the form could read is checked too: every error shows at once
        with refusals_shown(form):
            self_reports.check(db.session, **report)
        return render_template(template, form=form, **context), 400
    try:
        self_reports.report(
            db.session, current_user.id, evidence_dir=current_app.config["EVIDENCE_DIR"], **report
        )
    except DomainError as error:
        return render_form_error(template, form, error, **context)
    flash(_("Thank you! A reviewer will check your report."), "success")
    return redirect(url_for("activities.my_activities"))


@bp.get("/activities/evidence/<int:evidence_id>")
@login_required
def evidence_file(evidence_id: int) -> Response:
    """The file, to its uploader and to reviewers only."""
    found = queries.evidence_for(
        db.session,
        evidence_id,
        viewer_id=current_user.id,
        reviewer=current_user.can(Permission.REVIEW),
    )
    response = send_file(
        evidence.path_for(current_app.config["EVIDENCE_DIR"], found.sha256),
        mimetype=found.content_type,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/me/links", methods=["GET", "POST"])
@requires(Permission.USE_WALLET)
def my_links() -> Any:
    form = forms.LinkForm()
    form.kind.choices = [
        SelectChoice(code, identifier_name(code)) for code in edge.kind_catalogue().identifiers
    ]
    template = "activities/links.html"

    plugins = edge.methodologies()
    reach = {
        code: consents.partners_reporting(db.session, plugins, code)
        for code in edge.kind_catalogue().identifiers
    }

    def page(status: int = 200) -> tuple[str, int]:
        html = render_template(
            template, form=form, links=links.list_links(db.session, current_user.id),
            remove_form=EmptyForm(), reach=reach,
        )  # fmt: skip
        return html, status

    if request.method == "GET":
        return page()
    valid = form.validate_on_submit()
    settings = edge.pipeline_settings()
    link = {
        "kind": form.kind.data, "identifier": form.identifier.data, "label": form.label.data,
        "identifier_key": edge.identifier_key(), "settings": settings,
    }  # fmt: skip
    try:
        checks = Checks()  # every field is checked at once, the consent with the number
        with checks.check():
            if not form.consent.data:
                raise DomainError(
                    "consent_required",
                    _("Agree that the partners named send your records, or do not link."),
                    field="consent",
                    status=400,
                )
        with checks.check():
            links.check_link(db.session, current_user.id, **link)
        if not valid:
            with refusals_shown(form):
                checks.refuse()
            return page(400)
        checks.refuse()
        _linked, released = links.link(
            db.session,
            current_user.id,
            **link,
            channel="web",
        )
    except DomainError as error:
        show_refusal(form, error)
        return page(error.status)
    if released:
        flash(
            _("Linked. %(n)s earlier activities were found and checked.", n=len(released)),
            "success",
        )
    else:
        flash(_("Linked."), "success")
    return redirect(url_for("activities.my_links"))


@bp.post("/me/links/<int:link_id>/remove")
@requires(Permission.USE_WALLET)
def remove_link(link_id: int) -> Response:
    if EmptyForm().validate_on_submit():
        links.unlink(db.session, current_user.id, link_id)
        flash(_("Unlinked."), "success")
    return redirect(url_for("activities.my_links"))


# --- bureau: review queue -----------------------------------------------------------------------


def _review_filters() -> dict[str, Any]:
    args = request.args
    source = args.get("source") or None
    partner = args.get("partner_id", "")
    return {
        "kind": args.get("kind") or None,
        "reason": args.get("reason") or None,
        "source": source if source in ("partner", "self_report") else None,
        "partner_id": int(partner) if partner.isdigit() else None,
    }


@bp.route("/bureau/review", methods=["GET", "POST"])
@requires(Permission.REVIEW)
def review_queue() -> Any:
    form = forms.DecisionForm()
    filters = _review_filters()
    status = 200
    if request.method == "POST":
        ids = [i for i in map(parse_id, request.form.getlist("activity_id")) if i is not None]
        if not form.validate_on_submit() or not ids:
            flash(_("Choose at least one activity and a decision."), "error")
            status = 400
        else:
            try:
                outcome = review.decide(
                    db.session, current_actor(), ids,
                    approve=form.decision.data == "approve", note=form.note.data or "",
                    settings=edge.pipeline_settings(),
                )  # fmt: skip
            except DomainError as error:
                form.note.errors = [*form.note.errors, str(error.message)]
                status = error.status
            else:
                flash(
                    _(
                        "Approved %(a)s, rejected %(r)s, not credited %(n)s.",
                        a=len(outcome.approved),
                        r=len(outcome.rejected),
                        n=len(outcome.not_credited),
                    ),
                    "success",
                )
                return redirect(url_for("activities.review_queue", **request.args))
    page = queries.review_page(
        db.session, review.queue_statement(**filters), limit=50, cursor=request.args.get("cursor")
    )
    partner_names = {p.id: p.name for p, _k in partners.list_partners(db.session)}
    evidence_ids = [item.evidence_id for item in page["items"] if item.evidence_id]
    html = render_template(
        "bureau/review.html", page=page, form=form, filters=filters,
        kinds={code: kind_name(code) for code in edge.kind_catalogue().kinds},
        checks=review.check_choices(db.session), labelled_quantities=labelled_quantities,
        images=queries.image_evidence(db.session, evidence_ids),
        partner_names=partner_names, zone=_zone(),
    )  # fmt: skip
    return html, status


@bp.get("/bureau/activities/<int:activity_id>")
@requires(Permission.BUREAU_CONSOLE)
def bureau_activity(activity_id: int) -> str:
    """One activity as reported and decided (the impact preview links here)."""
    activity, reduction = queries.activity_with_reduction(db.session, activity_id)
    return render_template(
        "bureau/activity.html", activity=activity, reduction=reduction, zone=_zone(),
        status_names=STATUS_NAMES,
    )  # fmt: skip


# --- bureau: partners ---------------------------------------------------------------------------


def _kind_choices() -> list[SelectChoice]:
    return [SelectChoice(kind, kind_name(kind)) for kind in edge.partner_kinds()]


def _partners_page(
    form: forms.PartnerForm, issued: partners.IssuedKey | None = None, status: int = 200
) -> tuple[str, int]:
    kinds_form = forms.KindsForm()
    kinds_form.allowed_kinds.choices = _kind_choices()
    html = render_template(
        "bureau/partners.html", form=form, partners=partners.list_partners(db.session),
        issued=issued, action_form=EmptyForm(), kinds_form=kinds_form,
        batch_url=url_for("partner_api.post_activities", _external=True),
    )  # fmt: skip
    return html, status


@bp.route("/bureau/partners", methods=["GET", "POST"])
@requires(Permission.MANAGE_PARTNERS)
def partners_page() -> Any:
    form = forms.PartnerForm()
    form.allowed_kinds.choices = _kind_choices()
    if request.method == "GET":
        return _partners_page(form)
    if not form.validate_on_submit():
        return _partners_page(form, status=400)
    try:
        _partner, issued = partners.register_partner(
            db.session,
            current_actor(),
            name=form.name.data,
            allowed_kinds=form.allowed_kinds.data or [],
            known_kinds=edge.partner_kinds(),
            secret_key=current_app.config["SECRET_KEY"],
        )
    except DomainError as error:
        field = getattr(form, error.field or "", None)
        if field is not None:
            field.errors = [*field.errors, str(error.message)]
        return _partners_page(form, status=error.status)
    # The secret is rendered into this one answer, never flashed (flashes live in the cookie).
    return _partners_page(forms.PartnerForm(formdata=None), issued=issued, status=201)


@bp.post("/bureau/partners/<int:partner_id>/keys")
@requires(Permission.MANAGE_PARTNERS)
def rotate_partner_key(partner_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("activities.partners_page"))
    issued = partners.issue_key(
        db.session, current_actor(), partner_id, secret_key=current_app.config["SECRET_KEY"]
    )
    form = forms.PartnerForm(formdata=None)
    form.allowed_kinds.choices = _kind_choices()
    return _partners_page(form, issued=issued, status=201)


@bp.post("/bureau/partners/<int:partner_id>/keys/<key_id>/revoke")
@requires(Permission.MANAGE_PARTNERS)
def revoke_partner_key(partner_id: int, key_id: str) -> Response:
    if EmptyForm().validate_on_submit():
        partners.revoke_key(db.session, current_actor(), partner_id, key_id)
        flash(_("Key %(key)s revoked.", key=key_id), "success")
    return redirect(url_for("activities.partners_page"))


@bp.post("/bureau/partners/<int:partner_id>/kinds")
@requires(Permission.MANAGE_PARTNERS)
def partner_kinds(partner_id: int) -> Any:
    partners.get_partner(db.session, partner_id)  # an unknown partner is a 404, not a message
    form = forms.KindsForm()
    form.allowed_kinds.choices = _kind_choices()
    if form.validate_on_submit():
        try:
            partners.set_allowed_kinds(
                db.session, current_actor(), partner_id,
                allowed_kinds=form.allowed_kinds.data or [], known_kinds=edge.partner_kinds(),
            )  # fmt: skip
        except DomainError as error:
            flash(str(error.message), "error")
            return redirect(url_for("activities.partners_page"))
        flash(_("Saved."), "success")
    return redirect(url_for("activities.partners_page"))
