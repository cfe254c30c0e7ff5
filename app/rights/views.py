"""Pages: a resident's copy of their data and the closing of their account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.forms import EmptyForm
from app.accounts.models import User
from app.accounts.roles import Permission
from app.activities.consents import asks
from app.context import methodologies
from app.db import db
from app.errors import DomainError
from app.rights import closure, exports
from app.rights.models import DataExport

bp = Blueprint("rights", __name__, url_prefix="/me/privacy")


def export_settings() -> exports.ExportSettings:
    return exports.settings_from(current_app.config, methodologies())


def cooling_off() -> timedelta:
    return timedelta(days=current_app.config["ACCOUNT_CLOSURE_COOLING_OFF_DAYS"])


@bp.get("")
@requires(Permission.USE_WALLET)
def privacy() -> str:
    recent = db.session.scalars(
        sa.select(DataExport)
        .where(DataExport.user_id == current_user.id)
        .order_by(DataExport.id.desc())
        .limit(5)
    ).all()
    return render_template(
        "rights/privacy.html",
        exports=recent,
        now=clock.now(),
        pending=closure.pending_closure(db.session, current_user.id),
        cooling_off_days=current_app.config["ACCOUNT_CLOSURE_COOLING_OFF_DAYS"],
        form=EmptyForm(),
        consent_asks=asks(db.session, current_user.id, methodologies()),
    )


def _done(message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("rights.privacy"))


def _refused(error: DomainError) -> Response:
    flash(str(error.message), "error")
    return redirect(url_for("rights.privacy"))


@bp.post("/export")
@requires(Permission.USE_WALLET)
def request_export() -> Any:
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("rights.privacy"))
    user = db.session.get_one(User, current_user.id)
    try:
        export = exports.request_export(db.session, current_actor(), user, export_settings())
    except DomainError as error:
        return _refused(error)
    if export.file_name:
        return _done(_("Your copy is ready to download."))
    return _done(_("We are making your copy. It appears here when it is ready."))


@bp.get("/exports/<int:export_id>/download")
@requires(Permission.USE_WALLET)
def download(export_id: int) -> Any:
    db.writing()  # the download is audited
    path = exports.download(
        db.session, current_actor(), current_user.id, export_id,
        directory=current_app.config["EXPORT_DIR"],
    )  # fmt: skip
    response = send_file(
        path, mimetype="application/zip", as_attachment=True,
        download_name=f"tanpuhui-my-data-{export_id}.zip",
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/close")
@requires(Permission.USE_WALLET)
def close() -> Any:
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("rights.privacy"))
    user = db.session.get_one(User, current_user.id)
    try:
        closure.request_closure(db.session, current_actor(), user, cooling_off=cooling_off())
    except DomainError as error:
        return _refused(error)
    return _done(_("Your account will be closed when the cooling-off period ends."))


@bp.post("/close/cancel")
@requires(Permission.USE_WALLET)
def cancel_close() -> Any:
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("rights.privacy"))
    try:
        closure.cancel_closure(db.session, current_actor(), current_user.id)
    except DomainError as error:
        return _refused(error)
    return _done(_("Your account stays open."))
