"""The bureau's console: its home, staff accounts and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app import clock
from app.accounts import approvals, forms, services
from app.accounts.auth import current_actor, requires
from app.accounts.models import User
from app.accounts.roles import STAFF_ROLES, Permission, Role
from app.accounts.views import render_form_error
from app.api.pagination import keyset_page
from app.audit.labels import ACTIONS, OBJECT_TYPES
from app.audit.models import AuditEntry
from app.bureau import audit_log as audit_view
from app.bureau import work
from app.context import city_zone, ledger_policy
from app.db import db
from app.errors import DomainError
from app.jobs.words import OUTCOME_NAMES
from app.ledger import budget
from app.ledger.models import BudgetMonth

bp = Blueprint("bureau", __name__, url_prefix="/bureau")


@bp.get("/")
@requires(Permission.BUREAU_CONSOLE)
def home() -> str:
    """What waits, queue by queue, whether the scheduled jobs ran well this past week, and a
    warning when this month's points budget reached its threshold."""
    month = budget.month_of(ledger_policy().local_date(clock.now()))
    return render_template(
        "bureau/home.html",
        queues=work.waiting(db.session, current_user.can),
        jobs=work.job_health(db.session, since=clock.now() - timedelta(days=7)),
        run_outcome_names=OUTCOME_NAMES,
        budget_month=db.session.get(BudgetMonth, month),
    )


@bp.get("/staff")
@requires(Permission.MANAGE_STAFF)
def staff() -> str:
    page = keyset_page(
        db.session,
        sa.select(User).where(User.role.in_(STAFF_ROLES)),
        User.id,
        limit=50,
        cursor=request.args.get("cursor"),
    )
    return render_template(
        "bureau/staff.html", page=page, toggle_form=forms.EmptyForm(), staff_roles=STAFF_ROLES
    )


@bp.route("/staff/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_STAFF)
def new_staff() -> Any:
    form = forms.StaffForm()
    template = "bureau/staff_new.html"
    if not form.validate_on_submit():
        return render_template(template, form=form), 400 if form.errors else 200
    account = {
        "mobile": form.mobile.data,
        "password": form.password.data,
        "display_name": form.display_name.data,
    }
    try:
        if Role(form.role.data) == Role.BUREAU_ADMIN:
            approvals.request_admin(db.session, current_actor(), **account)
            flash(_("A new bureau admin needs a second admin: the request waits for their "
                    "approval."), "success")  # fmt: skip
            return redirect(url_for("bureau_approvals.approvals_page"))
        user = services.create_staff(
            db.session, current_actor(), role=Role(form.role.data), **account
        )
    except DomainError as error:
        return render_form_error(template, form, error)
    flash(_("Account created for %(name)s.", name=user.display_name), "success")
    return redirect(url_for("bureau.staff"))


@bp.post("/staff/<int:user_id>/role")
@requires(Permission.MANAGE_STAFF)
def change_role(user_id: int) -> Response:
    """Ask for a staff account's new role; a second admin decides on the approvals page."""
    form = forms.EmptyForm()
    if form.validate_on_submit():
        try:
            role = Role(request.form.get("role", ""))
        except ValueError:
            role = None
        if role is None:
            flash(_("Choose a staff role."), "error")
            return redirect(url_for("bureau.staff"))
        approvals.request_role_change(db.session, current_actor(), user_id, role)
        flash(_("The change of role waits for a second admin's approval."), "success")
        return redirect(url_for("bureau_approvals.approvals_page"))
    return redirect(url_for("bureau.staff"))


@bp.post("/staff/<int:user_id>/active")
@requires(Permission.MANAGE_STAFF)
def toggle_staff(user_id: int) -> Response:
    form = forms.EmptyForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        services.set_active(db.session, current_actor(), user_id, active=active)
        flash(_("Saved."), "success")
    return redirect(url_for("bureau.staff"))


@bp.get("/audit")
@requires(Permission.READ_AUDIT_LOG)
def audit_log() -> str:
    filters = audit_view.read_filters(request.args)
    page = keyset_page(
        db.session,
        audit_view.entries(filters, city_zone()),
        AuditEntry.id,
        limit=50,
        cursor=request.args.get("cursor"),
    )
    return render_template(
        "bureau/audit.html",
        rows=audit_view.present(db.session, page["items"]),
        next_cursor=page["next_cursor"],
        filters=filters,
        actions=sorted(ACTIONS.items(), key=lambda item: str(item[1])),
        object_types=sorted(OBJECT_TYPES.items(), key=lambda item: str(item[1])),
    )


@bp.get("/audit.csv")
@requires(Permission.READ_AUDIT_LOG)
def audit_log_csv() -> Response:
    """The filtered log (newest first, at most ``CSV_LIMIT`` entries) for a spreadsheet."""
    filters = audit_view.read_filters(request.args)
    rows = audit_view.as_csv(db.session, filters, city_zone())
    return current_app.response_class(
        stream_with_context(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-log.csv"},
    )
