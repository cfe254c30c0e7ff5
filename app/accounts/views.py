"""Pages: sign-in, sign-up, sign-out, an organisation's members and invitations, and a
resident's answers to them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.accounts import code_views, forms, memberships, second_step, services, sessions, two_factor
from app.accounts.auth import current_actor, requires
from app.accounts.code_views import render_form_error
from app.accounts.roles import Permission
from app.accounts.sign_in import (
    keeping_wrong_password_audit,
    masked_account,
    password_change_limits,
    sign_in_limits,
)
from app.context import city_zone
from app.db import db
from app.error_handlers import is_api_request
from app.errors import DomainError
from app.observability import security_event
from app.redirects import local_path

bp = Blueprint("accounts", __name__)


@bp.route("/sign-in", methods=["GET", "POST"])
@sign_in_limits
def sign_in() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = forms.SignInForm()
    if not form.validate_on_submit():
        return render_template("accounts/sign_in.html", form=form), 400 if form.errors else 200
    user = services.authenticate(db.session, mobile=form.mobile.data, password=form.password.data)
    if user is None:
        g.sign_in_failed = True
        security_event("sign_in", "failure", account=masked_account(form.mobile.data), via="page")
        flash(_("Wrong mobile number or password."), "error")
        return render_template("accounts/sign_in.html", form=form), 401
    if two_factor.required_for(user):
        second_step.begin(user, local_path(request.args.get("next")))
        return redirect(url_for("security.second_factor"))
    code_views.start_session(user)
    security_event("sign_in", "success", user_id=user.id, via="page")
    return redirect(code_views.after_sign_in())


@bp.post("/sign-out")
def sign_out() -> Response:
    form = forms.EmptyForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        security_event("sign_out", "success", user_id=current_user.id)
        sessions.end(db.session, current_user.id)
    return redirect(url_for("public.landing"))


#: What an account whose password an admin set may reach before changing it.
OPEN_BEFORE_PASSWORD_CHANGE = frozenset(
    {
        "static",
        "accounts.change_password",
        "accounts.sign_out",
        "security.second_factor",
        "i18n.switch_language",
        "accounts_api.change_password",
        "accounts_api.revoke_current_token",
        "health.livez",
        "health.healthz",
    }
)


@bp.before_app_request
def _password_change_first() -> Response | None:
    """Until the holder changes a password an admin set, only the change page answers."""
    if request.endpoint in OPEN_BEFORE_PASSWORD_CHANGE or request.endpoint is None:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    if is_api_request():
        raise DomainError(
            "password_change_required",
            _l("Change the password you were given first (POST /api/v1/me/password)."),
            status=403,
        )
    return redirect(url_for("accounts.change_password"))


@bp.route("/me/password", methods=["GET", "POST"])
@login_required
@password_change_limits
def change_password() -> Any:
    form = forms.ChangePasswordForm()
    template = "accounts/change_password.html"
    if not form.validate_on_submit():
        return render_template(template, form=form), 400 if form.errors else 200
    try:
        with keeping_wrong_password_audit():
            services.change_password(
                db.session,
                current_actor(),
                current_user,
                current_password=form.current_password.data,
                new_password=form.new_password.data,
                keep_session=sessions.current_sid_hash(),
            )
    except DomainError as error:
        return render_form_error(template, form, error)
    sessions.carry_on(current_user)
    security_event("password.change", "success", user_id=current_user.id, via="page")
    flash(_("Your password was changed."), "success")
    return redirect(url_for("public.home"))


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up() -> Any:
    return code_views.sign_up_page()


@bp.route("/sign-up/organisation", methods=["GET", "POST"])
def sign_up_organisation() -> Any:
    return code_views.organisation_sign_up_page()


@bp.route("/organisation", methods=["GET", "POST"])
@requires(Permission.MANAGE_ORGANISATION)
def organisation_home() -> Any:
    org = services.organisation_of(db.session, current_user)
    form = forms.MemberForm()

    def page(status: int = 200) -> tuple[str, int]:
        html = render_template(
            "organisation/home.html", org=org, form=form, remove_form=forms.EmptyForm(),
            members=memberships.members_of(db.session, org),
            invitations=memberships.invitations_sent(db.session, org),
        )  # fmt: skip
        return html, status

    if request.method == "GET":
        return page()
    if not form.validate_on_submit():
        return page(400)
    try:
        invitation = memberships.invite(
            db.session, current_actor(), org, _invitation_rules(), mobile=form.mobile.data
        )
    except DomainError as error:
        form.mobile.errors = [*form.mobile.errors, str(error.message)]
        return page(error.status)
    flash(
        _(
            "Invitation sent to %(mobile)s. If the number belongs to a resident, they can accept "
            "it on their page.",
            mobile=services.mask_mobile(invitation.mobile),
        ),
        "success",
    )
    return redirect(url_for("accounts.organisation_home"))


@bp.post("/organisation/members/<int:resident_id>/remove")
@requires(Permission.MANAGE_ORGANISATION)
def remove_member(resident_id: int) -> Any:
    form = forms.EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("accounts.organisation_home"))
    org = services.organisation_of(db.session, current_user)
    memberships.remove_member(db.session, org, resident_id)
    flash(_("The member was removed."), "success")
    return redirect(url_for("accounts.organisation_home"))


@bp.post("/me/invitations/<int:invitation_id>/accept", endpoint="accept_invitation")
@bp.post("/me/invitations/<int:invitation_id>/decline", endpoint="decline_invitation")
@requires(Permission.USE_WALLET)
def answer_invitation(invitation_id: int) -> Any:
    if forms.EmptyForm().validate_on_submit():
        accept = request.path.endswith("/accept")
        memberships.answer(db.session, current_actor(), current_user, invitation_id, accept=accept)
        flash(_("You joined the organisation.") if accept else _("Invitation declined."), "success")
    return redirect(url_for("public.account"))


@bp.post("/me/organisations/<int:organisation_id>/leave")
@requires(Permission.USE_WALLET)
def leave_organisation(organisation_id: int) -> Any:
    if forms.EmptyForm().validate_on_submit():
        memberships.leave(db.session, current_user, organisation_id)
        flash(_("You left the organisation."), "success")
    return redirect(url_for("public.account"))


def _invitation_rules() -> memberships.InvitationRules:
    return memberships.InvitationRules(
        daily_limit=current_app.config["INVITATIONS_PER_ORGANISATION_PER_DAY"], tz=city_zone()
    )
