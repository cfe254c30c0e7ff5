"""Pages: a staff member's second factor at sign-in (and enrolment), everyone's sessions and
API tokens, and a bureau admin's reset of another staff member's authenticator."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.accounts import forms, second_step, sessions, two_factor
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.accounts.sign_in import second_factor_limits
from app.db import db
from app.errors import DomainError
from app.observability import security_event

bp = Blueprint("security", __name__)
bp.after_app_request(sessions.write_last_use)


@bp.route("/sign-in/second-factor", methods=["GET", "POST"])
@second_factor_limits
def second_factor() -> Any:
    waiting = second_step.pending(db.session)
    if waiting is None:
        flash(_("Sign in again: the step timed out."), "error")
        return redirect(url_for("accounts.sign_in"))
    user, next_path = waiting
    form = forms.SecondFactorForm()
    if not two_factor.is_enrolled(db.session, user.id):
        return _enrol(user, next_path, form)
    template = "accounts/second_factor.html"
    if not form.validate_on_submit():
        return render_template(template, form=form), 400 if form.errors else 200
    try:
        used = two_factor.check(db.session, user.id, form.code.data)
    except DomainError as error:
        g.sign_in_failed = True
        security_event("sign_in.second_factor", "failure", user_id=user.id, reason=error.reason)
        form.code.errors = [str(error.message)]
        return render_template(template, form=form), error.status
    _signed_in(user, used)
    return redirect(next_path or url_for("public.home"))


def _enrol(user: Any, next_path: str | None, form: forms.SecondFactorForm) -> Any:
    template = "accounts/second_factor_enrol.html"
    db.writing()
    factor = two_factor.begin_enrolment(db.session, user)
    uri = two_factor.provisioning_uri(factor, f"{current_app.config['CITY_NAME']} {user.mobile}")

    def page(status: int) -> tuple[str, int]:
        return render_template(
            template, form=form, qr=two_factor.qr_svg(uri), secret=factor.secret
        ), status  # fmt: skip

    if not form.validate_on_submit():
        return page(400 if form.errors else 200)
    try:
        codes = two_factor.confirm_enrolment(db.session, current_actor(), user, form.code.data)
    except DomainError as error:
        g.sign_in_failed = True
        form.code.errors = [str(error.message)]
        return page(error.status)
    _signed_in(user, "enrolment")
    return render_template(
        "accounts/recovery_codes.html", codes=codes, next_path=next_path or url_for("public.home")
    )


def _signed_in(user: Any, via: str) -> None:
    sessions.start(db.session, user)
    security_event("sign_in", "success", user_id=user.id, via="page", second_factor=via)


@bp.get("/me/security")
@login_required
def overview() -> str:
    config = current_app.config
    enrolled = two_factor.is_enrolled(db.session, current_user.id)
    return render_template(
        "accounts/security.html",
        sessions=sessions.active(
            db.session, current_user.id,
            idle_seconds=config["SESSION_IDLE_SECONDS"],
            lifetime_seconds=config["SESSION_LIFETIME_SECONDS"],
        ),
        tokens=sessions.active_tokens(db.session, current_user.id),
        current=sessions.current_sid_hash(),
        enrolled=enrolled,
        recovery_left=two_factor.recovery_codes_left(db.session, current_user.id),
        end_form=forms.EmptyForm(),
    )  # fmt: skip


@bp.post("/me/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> Response:
    if forms.EmptyForm().validate_on_submit():
        sessions.end_one(db.session, current_user.id, session_id)
        security_event("session.end", "success", user_id=current_user.id)
        flash(_("The session was ended."), "success")
    return redirect(url_for("security.overview"))


@bp.post("/me/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    if forms.EmptyForm().validate_on_submit():
        sessions.revoke_token(db.session, current_user.id, token_id)
        security_event("api_token.revoke", "success", user_id=current_user.id)
        flash(_("The API token was revoked."), "success")
    return redirect(url_for("security.overview"))


@bp.post("/bureau/staff/<int:user_id>/second-factor/reset")
@requires(Permission.MANAGE_STAFF)
def reset_second_factor(user_id: int) -> Response:
    if forms.EmptyForm().validate_on_submit():
        try:
            two_factor.reset(db.session, current_actor(), user_id)
        except DomainError as error:
            if error.status == 404:
                raise
            flash(str(error.message), "error")
            return redirect(url_for("bureau.staff"))
        flash(_("The authenticator was reset: a new one is set up at the next sign-in."), "success")
    return redirect(url_for("bureau.staff"))
