"""Pages: the bureau's methodology console and the public catalogue."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.models import User
from app.accounts.roles import Permission
from app.context import approval_independence, city_zone, methodologies
from app.db import db
from app.error_handlers import keeping_writes
from app.errors import DomainError, NotFound
from app.i18n import localized
from app.methodology import forms, previews, rules, services
from app.methodology.catalogue import (
    STATUS_NAMES,
    catalogue,
    catalogue_entry,
    parameter_specs,
    parameter_values,
)
from app.methodology.models import OPEN_STATUSES, MethodologyVersion, VersionStatus

bureau_bp = Blueprint("bureau_methodologies", __name__, url_prefix="/bureau/methodologies")
public_bp = Blueprint("methodologies", __name__, url_prefix="/methodologies")


def _city_zone() -> ZoneInfo:
    return city_zone()


def _page_context() -> dict[str, Any]:
    return {"localized": localized, "status_names": STATUS_NAMES, "VersionStatus": VersionStatus}


# --- the public catalogue -----------------------------------------------------------------------


@public_bp.get("")
def public_catalogue() -> str:
    entries = catalogue(db.session, methodologies(), clock.now())
    return render_template("methodology/catalogue.html", entries=entries, **_page_context())


@public_bp.get("/<methodology_code>")
def public_methodology(methodology_code: str) -> str:
    entry = catalogue_entry(db.session, methodologies(), methodology_code, clock.now())
    return render_template("methodology/detail.html", entry=entry, **_page_context())


# --- the bureau's console -----------------------------------------------------------------------


@bureau_bp.get("")
@requires(Permission.BUREAU_CONSOLE)
def index() -> str:
    plugins = methodologies()
    versions: dict[str, list[MethodologyVersion]] = {}
    for version in db.session.scalars(
        sa.select(MethodologyVersion).order_by(MethodologyVersion.id.desc())
    ):
        versions.setdefault(version.code, []).append(version)
    now = clock.now()
    rows = []
    for code in sorted(plugins.keys() | versions.keys()):
        own = versions.get(code, [])
        rows.append(
            {
                "code": code,
                "plugin": plugins.get(code),
                "versions": own,
                "in_effect": services.version_in_effect(db.session, code, now),
                "preparing": any(v.status in OPEN_STATUSES for v in own),
            }
        )
    return render_template(
        "bureau/methodologies.html", rows=rows, register_form=forms.RegisterForm(),
        **_page_context(),
    )  # fmt: skip


@bureau_bp.get("/pending")
@requires(Permission.BUREAU_CONSOLE)
def pending() -> str:
    """Submitted versions waiting for a second admin's decision, oldest first."""
    rows = db.session.execute(
        sa.select(MethodologyVersion, User.display_name)
        .join(User, User.id == MethodologyVersion.submitted_by_id)
        .where(MethodologyVersion.status == VersionStatus.SUBMITTED)
        .order_by(MethodologyVersion.submitted_at, MethodologyVersion.id)
    ).all()
    refusals = {version.id: _decision_refusal(version) for version, _name in rows}
    return render_template(
        "bureau/methodologies_pending.html", rows=rows, plugins=methodologies(),
        refusals=refusals, **_page_context(),
    )  # fmt: skip


def _decision_refusal(version: MethodologyVersion) -> str | None:
    """Why the signed-in admin may not decide this version: the decision's own rule, asked here
    so the page offers no button the step would refuse."""
    refusal = rules.decision_refusal(db.session, current_user.id, version, approval_independence())
    return str(refusal[1]) if refusal else None


@bureau_bp.post("/new")
@requires(Permission.EDIT_METHODOLOGY)
def register() -> Response:
    form = forms.RegisterForm()
    if not form.validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
        return redirect(url_for("bureau_methodologies.index"))
    plugin = methodologies().get(form.code.data)
    if plugin is None:
        raise NotFound("methodology")
    copy_from = form.copy_from.data
    version = services.register_draft(
        db.session,
        current_actor(),
        plugin,
        copy_from=int(copy_from) if copy_from and copy_from.isdigit() else None,
    )
    flash(_("Draft %(label)s registered.", label=version.label), "success")
    return redirect(url_for("bureau_methodologies.detail", version_id=version.id))


@bureau_bp.get("/<int:version_id>")
@requires(Permission.BUREAU_CONSOLE)
def detail(version_id: int) -> str:
    return _render_detail(services.get_version(db.session, version_id))


@bureau_bp.post("/<int:version_id>")
@requires(Permission.EDIT_METHODOLOGY)
def edit(version_id: int) -> Any:
    version = services.get_version(db.session, version_id)
    plugin = services.plugin_for(methodologies(), version)
    specs = parameter_specs(plugin)
    form = forms.parameter_form(specs, version.parameters, version.parameter_notes)
    if not form.validate_on_submit():
        return _render_detail(version, parameter_form=form), 400
    values, notes = forms.submitted_values(form, specs)
    try:
        services.edit_draft(
            db.session,
            current_actor(),
            methodologies(),
            version_id,
            parameters=values,
            notes=notes,
        )
    except services.InvalidParameters as error:
        forms.show_errors(form, error.errors())
        flash(str(error.message), "error")
        return _render_detail(version, parameter_form=form), error.status
    flash(_("Parameters saved."), "success")
    return redirect(url_for("bureau_methodologies.detail", version_id=version_id))


@bureau_bp.post("/<int:version_id>/submit")
@requires(Permission.EDIT_METHODOLOGY)
def submit(version_id: int) -> Any:
    version = services.get_version(db.session, version_id)
    if not EmptyForm().validate_on_submit():
        return _render_detail(version), 400
    services.submit(db.session, current_actor(), methodologies(), version_id)
    flash(_("Submitted for approval."), "success")
    return redirect(url_for("bureau_methodologies.detail", version_id=version_id))


@bureau_bp.post("/<int:version_id>/approve")
@requires(Permission.APPROVE_METHODOLOGY)
def approve(version_id: int) -> Any:
    version = services.get_version(db.session, version_id)
    form = forms.ApproveForm()
    if not form.validate_on_submit():
        return _render_detail(version, approve_form=form), 400
    effective_from = form.effective_from.data.replace(tzinfo=_city_zone())
    try:
        with keeping_writes():
            services.approve(
                db.session,
                current_actor(),
                methodologies(),
                version_id,
                effective_from=effective_from,
                comment=form.comment.data,
                independence=approval_independence(),
            )
    except DomainError as error:
        _field_error(form, error)
        return _render_detail(version, approve_form=form), error.status
    flash(_("Approved."), "success")
    return redirect(url_for("bureau_methodologies.detail", version_id=version_id))


@bureau_bp.post("/<int:version_id>/reject")
@requires(Permission.APPROVE_METHODOLOGY)
def reject(version_id: int) -> Any:
    version = services.get_version(db.session, version_id)
    form = forms.CommentForm(prefix="reject")
    if not form.validate_on_submit():
        return _render_detail(version, reject_form=form), 400
    try:
        with keeping_writes():
            services.reject(
                db.session,
                current_actor(),
                version_id,
                comment=form.comment.data,
                independence=approval_independence(),
            )
    except DomainError as error:
        _field_error(form, error)
        return _render_detail(version, reject_form=form), error.status
    flash(_("Rejected."), "success")
    return redirect(url_for("bureau_methodologies.detail", version_id=version_id))


@bureau_bp.post("/<int:version_id>/retire")
@requires(Permission.APPROVE_METHODOLOGY)
def retire(version_id: int) -> Any:
    version = services.get_version(db.session, version_id)
    form = forms.CommentForm(prefix="retire")
    if not form.validate_on_submit():
        return _render_detail(version, retire_form=form), 400
    try:
        services.retire(db.session, current_actor(), version_id, comment=form.comment.data)
    except DomainError as error:
        _field_error(form, error)
        return _render_detail(version, retire_form=form), error.status
    flash(_("Retired."), "success")
    return redirect(url_for("bureau_methodologies.detail", version_id=version_id))


@bureau_bp.post("/<int:version_id>/preview")
@requires(Permission.BUREAU_CONSOLE)
def request_preview(version_id: int) -> Any:
    version = services.get_version(db.session, version_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
        return _render_detail(version), 400
    try:
        previews.request_preview(
            db.session, current_actor(), methodologies(), version_id, now=clock.now()
        )
    except DomainError as error:
        flash(str(error.message), "error")
        return _render_detail(version), error.status
    return redirect(url_for("bureau_methodologies.preview", version_id=version_id))


@bureau_bp.get("/<int:version_id>/preview")
@requires(Permission.BUREAU_CONSOLE)
def preview(version_id: int) -> str:
    """The latest impact preview; reloads itself while the job computes it."""
    version = services.get_version(db.session, version_id)
    return render_template(
        "bureau/methodology_preview.html", version=version, **_preview_context(version),
        **_page_context(),
    )  # fmt: skip


def _preview_context(version: MethodologyVersion) -> dict[str, Any]:
    """The preview panel: the latest preview, why none can be asked for, and the button."""
    latest = previews.latest_preview(db.session, version.id)
    zone = _city_zone()
    refusal = previews.readiness(methodologies(), version)
    return {
        "preview": previews.describe(latest, version.parameters) if latest else None,
        "preview_refusal": str(refusal.message) if refusal and version.status in OPEN_STATUSES
        else None,
        "preview_form": EmptyForm() if refusal is None else None,
        "preview_days": previews.PREVIEW_DAYS,
        "outcome_names": {
            "credited": _("Credited"), "flagged": _("Flagged"), "rejected": _("Rejected"),
            "no_reduction": _("No reduction"),
        },
        "zone": zone,
        "city_instant": lambda iso: datetime.fromisoformat(iso).astimezone(zone).strftime(
            "%Y-%m-%d %H:%M"
        ),
    }  # fmt: skip


def _field_error(form: Any, error: DomainError) -> None:
    """The rule's message next to the field it names, or at the top of the page."""
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, str(error.message)]
    else:
        flash(str(error.message), "error")


def _render_detail(version: MethodologyVersion, **forms_given: Any) -> str:
    """The version page: values, workflow marks, and the forms the viewer may use."""
    plugin = methodologies().get(version.code)
    if plugin is not None and plugin.version != version.plugin_version:
        plugin = None  # the installed code is not the one this version names: show values only
    parameters = (
        parameter_values(plugin, version.parameters, version.parameter_notes) if plugin else None
    )
    can_edit = current_user.can(Permission.EDIT_METHODOLOGY)
    can_decide = current_user.can(Permission.APPROVE_METHODOLOGY)
    draft = version.status == VersionStatus.DRAFT
    submitted = version.status == VersionStatus.SUBMITTED
    page_forms: dict[str, Any] = {}
    if plugin and draft and can_edit:
        page_forms["parameter_form"] = forms_given.get("parameter_form") or forms.parameter_form(
            parameter_specs(plugin), version.parameters, version.parameter_notes
        )
        page_forms["submit_form"] = EmptyForm()
    if submitted and can_decide:
        page_forms["approve_form"] = forms_given.get("approve_form") or _approve_form()
        page_forms["reject_form"] = forms_given.get("reject_form") or forms.CommentForm(
            prefix="reject"
        )
    if version.status == VersionStatus.APPROVED and can_decide:
        page_forms["retire_form"] = forms_given.get("retire_form") or forms.CommentForm(
            prefix="retire"
        )
    preparing = db.session.scalar(
        sa.select(sa.func.count()).where(
            MethodologyVersion.code == version.code,
            MethodologyVersion.status.in_(OPEN_STATUSES),
        )
    )
    if plugin and can_edit and not preparing:
        page_forms["copy_form"] = forms.RegisterForm(
            formdata=None, code=version.code, copy_from=str(version.id)
        )
    people_ids = {
        version.created_by_id,
        version.submitted_by_id,
        version.decided_by_id,
        version.retired_by_id,
    } - {None}
    people = {
        user.id: user.display_name
        for user in db.session.scalars(sa.select(User).where(User.id.in_(people_ids)))
    }
    return render_template(
        "bureau/methodology.html",
        version=version,
        plugin=plugin,
        parameters=parameters,
        people=people,
        decision_refusal=_decision_refusal(version),
        **(_preview_context(version) if version.status in OPEN_STATUSES else {}),
        **page_forms,
        **_page_context(),
    )


def _approve_form() -> forms.ApproveForm:
    """Approval form suggesting the start of tomorrow, city time."""
    zone = _city_zone()
    tomorrow = clock.now().astimezone(zone).date() + timedelta(days=1)
    return forms.ApproveForm(formdata=None, effective_from=datetime.combine(tomorrow, time()))
