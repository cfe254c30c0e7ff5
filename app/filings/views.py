"""Pages: the bureau's filing console and the verifier's inspection of batches."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import sqlalchemy as sa
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
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.models import User
from app.accounts.roles import Permission
from app.activities.kinds import labelled_quantities
from app.api.ids import parse_id
from app.api.pagination import keyset_page
from app.context import approval_independence, methodologies
from app.db import db
from app.error_handlers import keeping_writes
from app.errors import DomainError
from app.filings import bundling, forms, services
from app.filings.models import FilingBatch
from app.i18n import localized
from app.methodology.catalogue import parameter_specs

bureau_bp = Blueprint("filings_bureau", __name__, url_prefix="/bureau/filings")
verifier_bp = Blueprint("filings_verifier", __name__, url_prefix="/verifier/batches")

LINES_PER_PAGE = 50


def batches_page(cursor: str | None) -> dict[str, Any]:
    return keyset_page(db.session, sa.select(FilingBatch), FilingBatch.id, limit=50, cursor=cursor)


def _lines(batch: FilingBatch) -> tuple[list[services.LineView], int | None]:
    after = parse_id(request.args.get("after"))
    return services.batch_lines(
        db.session, batch.id, methodologies(), after=after, limit=LINES_PER_PAGE
    )


def _parameter_names(batch: FilingBatch) -> dict[str, tuple[str, str]]:
    """Each frozen parameter's description and unit in the reader's language, from its plugin
    (an uninstalled methodology's parameters show by their codes)."""
    plugin = methodologies().get(batch.methodology_code)
    specs = parameter_specs(plugin) if plugin is not None else []
    return {spec.name: (localized(spec.description), spec.unit) for spec in specs}


def _methodology_name(batch: FilingBatch) -> str:
    """The batch's methodology by its name in the reader's language (its code if uninstalled)."""
    plugin = methodologies().get(batch.methodology_code)
    return localized(plugin.name) if plugin is not None else batch.methodology_code


def download(batch: FilingBatch) -> Response:
    """Stream the zip from a temporary file, so a million lines never sit in memory."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115  (the response closes it)
    try:
        bundling.write_package(db.session, batch, spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{batch.serial}.zip",
        max_age=0,
    )


# -- bureau ---------------------------------------------------------------------------------------


@bureau_bp.get("/")
@requires(Permission.MANAGE_FILINGS)
def index() -> str:
    page = batches_page(request.args.get("cursor"))
    return render_template("bureau/filings.html", page=page)


def _detail(batch_id: int, status: int = 200, **forms_: Any) -> tuple[str, int]:
    batch = services.get_batch(db.session, batch_id)
    lines, next_after = _lines(batch)
    context = {
        "approve_form": EmptyForm(),
        "accept_form": EmptyForm(),
        "submit_form": forms.SubmitForm(),
        "reject_form": forms.RejectForm(),
    } | forms_
    refusal = services.approval_refusal(db.session, current_user.id, batch, approval_independence())
    people = {batch.first_approved_by_id, batch.second_approved_by_id} - {None}
    names = dict(
        db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(people))).all()
    )
    html = render_template(
        "bureau/filing_detail.html",
        batch=batch,
        approval_refusal=refusal and services.APPROVAL_REFUSALS[refusal],
        approver_names=names,
        manifest=json.loads(batch.manifest),
        lines=lines,
        next_after=next_after,
        labelled_quantities=labelled_quantities,
        methodology_name=_methodology_name(batch),
        parameter_names=_parameter_names(batch),
        **context,
    )
    return html, status


@bureau_bp.get("/<int:batch_id>")
@requires(Permission.MANAGE_FILINGS)
def detail(batch_id: int) -> tuple[str, int]:
    return _detail(batch_id)


@bureau_bp.get("/<int:batch_id>/package.zip")
@requires(Permission.MANAGE_FILINGS)
def bureau_package(batch_id: int) -> Response:
    return download(services.get_batch(db.session, batch_id))


@bureau_bp.post("/<int:batch_id>/approve")
@requires(Permission.MANAGE_FILINGS)
def approve(batch_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        return _detail(batch_id, 400)
    try:
        with keeping_writes():
            batch = services.approve(
                db.session, current_actor(), batch_id, independence=approval_independence()
            )
    except DomainError as error:
        flash(str(error.message), "error")
        return _detail(batch_id, error.status)
    flash(
        _("Approved. The batch is now approved for filing.")
        if batch.second_approved_by_id
        else _("Approved. A second colleague must approve too."),
        "success",
    )
    return redirect(url_for("filings_bureau.detail", batch_id=batch_id))


@bureau_bp.post("/<int:batch_id>/submit")
@requires(Permission.MANAGE_FILINGS)
def submit(batch_id: int) -> Any:
    form = forms.SubmitForm()
    if not form.validate_on_submit():
        return _detail(batch_id, 400, submit_form=form)
    try:
        services.submit(
            db.session, current_actor(), batch_id, registry_reference=form.registry_reference.data
        )
    except DomainError as error:
        if error.field is None:
            raise
        form.registry_reference.errors = [str(error.message)]
        return _detail(batch_id, error.status, submit_form=form)
    flash(_("Recorded as submitted to the registry."), "success")
    return redirect(url_for("filings_bureau.detail", batch_id=batch_id))


@bureau_bp.post("/<int:batch_id>/accept")
@requires(Permission.MANAGE_FILINGS)
def accept(batch_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        return _detail(batch_id, 400)
    services.accept(
        db.session, current_actor(), batch_id, city_code=current_app.config["UNIT_CITY_CODE"]
    )
    flash(_("Recorded as accepted by the registry."), "success")
    return redirect(url_for("filings_bureau.detail", batch_id=batch_id))


@bureau_bp.post("/<int:batch_id>/reject")
@requires(Permission.MANAGE_FILINGS)
def reject(batch_id: int) -> Any:
    form = forms.RejectForm()
    if not form.validate_on_submit():
        return _detail(batch_id, 400, reject_form=form)
    services.reject(db.session, current_actor(), batch_id, reason=form.reason.data)
    flash(_("Rejected. Its reductions can go into a later batch."), "success")
    return redirect(url_for("filings_bureau.detail", batch_id=batch_id))


# -- verifier -------------------------------------------------------------------------------------


@verifier_bp.get("/<int:batch_id>")
@requires(Permission.VERIFY_FILINGS)
def inspect(batch_id: int) -> str:
    batch = services.get_batch(db.session, batch_id)
    lines, next_after = _lines(batch)
    return render_template(
        "verifier/batch.html",
        batch=batch,
        manifest=json.loads(batch.manifest),
        lines=lines,
        next_after=next_after,
        labelled_quantities=labelled_quantities,
        methodology_name=_methodology_name(batch),
        parameter_names=_parameter_names(batch),
    )


@verifier_bp.get("/<int:batch_id>/package.zip")
@requires(Permission.VERIFY_FILINGS)
def verifier_package(batch_id: int) -> Response:
    return download(services.get_batch(db.session, batch_id))


@verifier_bp.get("/<int:batch_id>/evidence/<int:evidence_id>")
@requires(Permission.VERIFY_FILINGS)
def evidence(batch_id: int, evidence_id: int) -> Response:
    """A receipt behind a line of the batch, served as the activities' own route serves it."""
    from app.activities.evidence import path_for

    found = services.evidence_in_batch(db.session, batch_id, evidence_id)
    response = send_file(
        path_for(current_app.config["EVIDENCE_DIR"], found.sha256),
        mimetype=found.content_type,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
