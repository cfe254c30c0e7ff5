"""Pages around SMS codes and the privacy notice: sign-up with a code, sign-in by code, password
reset by code, the notice and its acceptance, and (in development) the console sender's outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app import context as edge
from app.accounts import codes, consents, forms, services, sessions, sign_up
from app.accounts.models import CodePurpose, OrganisationKind, User
from app.accounts.sign_in import code_request_limits, masked_account, sign_in_limits
from app.accounts.sms.console import ConsoleSender
from app.db import db
from app.error_handlers import is_api_request, keeping_writes
from app.errors import Checks, DomainError
from app.observability import security_event
from app.redirects import local_path

bp = Blueprint("codes", __name__)


def show_refusal(form: FlaskForm, error: DomainError) -> None:
    """Every message of a refusal beside the field it names, all at once; a field the form itself
    already found wrong keeps the form's message alone, and a message for no field is flashed."""
    flashed: set[str] = set()
    for name, messages in (error.errors() or {"": [str(error.message)]}).items():
        field = form._fields.get(name) if name else None
        if field is not None:
            if not field.errors:
                field.errors = [*field.errors, *_flat(messages)]
            continue
        text = "; ".join(_flat(messages))
        if text not in flashed:
            flashed.add(text)
            flash(text, "error")


@contextmanager
def refusals_shown(form: FlaskForm) -> Iterator[None]:
    """Beside a form the browser sent wrong (400), what the rules refuse is shown too."""
    try:
        yield
    except DomainError as error:
        show_refusal(form, error)


def _flat(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _flat(value)]
    if isinstance(messages, list | tuple):
        return [str(message) for message in messages]
    return [str(messages)]


def render_form_error(template: str, form: FlaskForm, error: DomainError, **context: Any) -> Any:
    """Show a rule's refusals next to the fields they name, with the rule's status code."""
    show_refusal(form, error)
    return render_template(template, form=form, **context), error.status


#: Each "text me a code" endpoint: the purpose of the code, and the page it serves (its
#: template, its form and its endpoint, where the request comes back to).
_PAGES = {
    "codes.sign_up_code": (
        CodePurpose.SIGN_UP, "accounts/sign_up.html", forms.ResidentSignUpForm, "accounts.sign_up"
    ),
    "codes.sign_up_organisation_code": (
        CodePurpose.SIGN_UP, "accounts/sign_up_organisation.html", forms.OrganisationSignUpForm,
        "accounts.sign_up_organisation",
    ),
    "codes.sign_in_code": (
        CodePurpose.SIGN_IN, "accounts/sign_in_code.html", forms.CodeSignInForm, "codes.sign_in"
    ),
    "codes.reset_code": (
        CodePurpose.RESET, "accounts/reset_password.html", forms.PasswordResetForm, "codes.reset"
    ),
}  # fmt: skip


@bp.post("/sign-up/code", endpoint="sign_up_code")
@bp.post("/sign-up/organisation/code", endpoint="sign_up_organisation_code")
@bp.post("/sign-in/code/send", endpoint="sign_in_code")
@bp.post("/reset-password/code", endpoint="reset_code")
@code_request_limits
def send_code() -> Any:
    """Text a code for the page's purpose to the number in its form and come back to the page."""
    purpose, template, form_class, endpoint = _PAGES[str(request.endpoint)]
    form = form_class()
    request_form = forms.CodeRequestForm()
    if not request_form.validate_on_submit():
        return render_template(template, form=form), 400
    try:
        mobile = services.normalise_mobile(request_form.mobile.data)
        g.code_requested = True
        if codes.should_send(db.session, mobile, purpose):
            with keeping_writes():
                codes.send_code(
                    db.session, edge.sms_sender(), edge.code_key(), mobile=mobile, purpose=purpose
                )
    except DomainError as error:
        return render_form_error(template, form, error)
    security_event("sms_code", "requested", account=masked_account(mobile), purpose=purpose.value)
    session["code_mobile"] = mobile
    flash(
        _(
            "If the number can use it, a code was texted to %(mobile)s. It is valid for 5 minutes.",
            mobile=services.mask_mobile(mobile),
        ),
        "success",
    )
    return redirect(url_for(endpoint))


def _prefill(form: FlaskForm) -> None:
    if request.method == "GET" and not form.mobile.data:
        form.mobile.data = session.get("code_mobile")


def sign_up_page() -> Any:
    """The resident sign-up (the ``accounts.sign_up`` route): a code proves the number."""
    form = forms.ResidentSignUpForm()
    return _sign_up(
        form,
        "accounts/sign_up.html",
        check=lambda: services.check_new_resident(
            db.session, mobile=form.mobile.data, password=form.password.data,
            display_name=form.display_name.data,
        ),
        create=lambda notice: sign_up.resident(
            db.session, edge.code_key(), mobile=form.mobile.data, code=form.code.data,
            password=form.password.data, display_name=form.display_name.data, **notice,
        ),
        welcome=_("Welcome! Your account is ready."),
    )  # fmt: skip


def organisation_sign_up_page() -> Any:
    """The organisation sign-up (``accounts.sign_up_organisation``): a code proves the contact's
    number, as for residents."""
    form = forms.OrganisationSignUpForm()
    return _sign_up(
        form,
        "accounts/sign_up_organisation.html",
        check=lambda: services.check_new_organisation(
            db.session, mobile=form.mobile.data, password=form.password.data,
            name=form.name.data, credit_code=form.credit_code.data,
        ),
        create=lambda notice: sign_up.organisation(
            db.session, edge.code_key(), mobile=form.mobile.data, code=form.code.data,
            password=form.password.data, name=form.name.data,
            kind=OrganisationKind(form.kind.data), credit_code=form.credit_code.data, **notice,
        ),
        welcome=_("Welcome! Your organisation's account is ready."),
    )  # fmt: skip


def _sign_up(
    form: FlaskForm,
    template: str,
    *,
    check: Callable[[], None],
    create: Callable[[dict[str, Any]], User],
    welcome: str,
) -> Any:
    """A sign-up page: every rule is checked even beside a field left empty, so all that is
    wrong shows at once, and only a form with nothing wrong spends the texted code."""
    _prefill(form)
    if not form.is_submitted():
        return render_template(template, form=form)
    valid = form.validate()
    checks = Checks()
    with checks.check():
        check()
    with checks.check():
        consents.require_notice_accepted(bool(form.consent.data))
    if not valid:
        with refusals_shown(form):
            checks.refuse()
        return render_template(template, form=form), 400
    notice = {
        "accepted_notice": bool(form.consent.data),
        "notice_version": _notice_version(),
        "channel": "web",
    }
    try:
        checks.refuse()
        with keeping_writes():
            user = create(notice)
    except DomainError as error:
        return render_form_error(template, form, error)
    session.pop("code_mobile", None)
    sessions.start(db.session, user)
    flash(welcome, "success")
    return redirect(url_for("public.home"))


@bp.route("/sign-in/code", methods=["GET", "POST"], endpoint="sign_in")
@sign_in_limits
def sign_in_with_code() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = forms.CodeSignInForm()
    template = "accounts/sign_in_code.html"
    _prefill(form)
    if not form.validate_on_submit():
        return render_template(template, form=form), 400 if form.errors else 200
    try:
        with keeping_writes():
            user = codes.sign_in_by_code(
                db.session, edge.code_key(), mobile=form.mobile.data, code=form.code.data
            )
    except DomainError as error:
        g.sign_in_failed = True
        security_event("sign_in", "failure", account=masked_account(form.mobile.data), via="code")
        return render_form_error(template, form, error)
    session.pop("code_mobile", None)
    start_session(user)
    security_event("sign_in", "success", user_id=user.id, via="code")
    return redirect(after_sign_in())


@bp.route("/reset-password", methods=["GET", "POST"], endpoint="reset")
def reset_password() -> Any:
    form = forms.PasswordResetForm()
    template = "accounts/reset_password.html"
    _prefill(form)
    if not form.validate_on_submit():
        return render_template(template, form=form), 400 if form.errors else 200
    try:
        with keeping_writes():
            user = codes.reset_password(
                db.session, edge.code_key(), mobile=form.mobile.data, code=form.code.data,
                new_password=form.new_password.data,
            )  # fmt: skip
    except DomainError as error:
        return render_form_error(template, form, error)
    session.pop("code_mobile", None)
    security_event("password.reset", "success", user_id=user.id, via="code")
    flash(_("Your password was changed. Sign in with the new one."), "success")
    return redirect(url_for("accounts.sign_in"))


# --- the privacy notice -------------------------------------------------------------------------


def _notice_version() -> str:
    return str(current_app.config["PRIVACY_NOTICE_VERSION"])


def start_session(user: User) -> None:
    """Sign in on this browser; an account that has not accepted the current privacy notice is
    asked to before anything else."""
    sessions.start(db.session, user)
    if codes.signs_up_itself(user.role) and (
        consents.accepted_notice_version(db.session, user.id) != _notice_version()
    ):
        session["notice_due"] = True


def after_sign_in() -> str:
    if session.get("notice_due"):
        return url_for("codes.accept_notice")
    return local_path(request.args.get("next")) or url_for("public.home")


@bp.get("/privacy")
def privacy_notice() -> str:
    return render_template("accounts/privacy.html", version=_notice_version())


@bp.route("/me/privacy-notice", methods=["GET", "POST"], endpoint="accept_notice")
@login_required
def accept_notice() -> Any:
    form = forms.NoticeForm()
    template = "accounts/accept_notice.html"
    context = {"version": _notice_version(), "sign_out_form": forms.EmptyForm()}
    if not form.validate_on_submit():
        html = render_template(template, form=form, **context)
        return html, 400 if form.errors else 200
    try:
        consents.require_notice_accepted(bool(form.consent.data))
    except DomainError as error:
        return render_form_error(template, form, error, **context)
    consents.record_notice(db.session, current_user.id, version=_notice_version(), channel="web")
    session.pop("notice_due", None)
    flash(_("Thank you. You accepted the privacy notice."), "success")
    return redirect(url_for("public.home"))


#: What an account asked to accept the privacy notice may reach before it does.
OPEN_BEFORE_NOTICE = frozenset(
    {"static", "codes.accept_notice", "codes.privacy_notice", "accounts.sign_out"}
    | {"i18n.switch_language", "health.livez", "health.healthz"}
)


@bp.before_app_request
def _notice_first() -> Response | None:
    """Until the current notice is accepted, the pages lead to it (API calls are answered)."""
    if request.endpoint in OPEN_BEFORE_NOTICE or request.endpoint is None or is_api_request():
        return None
    if not session.get("notice_due") or not current_user.is_authenticated:
        return None
    return redirect(url_for("codes.accept_notice"))


# --- development: the console sender's outbox ---------------------------------------------------


@bp.get("/dev/sms-outbox")
def outbox() -> str:
    """The codes the console sender texted (development only: never in production)."""
    sender = edge.sms_sender()
    if current_app.config["TANPUHUI_ENV"] == "production" or not isinstance(sender, ConsoleSender):
        abort(404)
    return render_template("accounts/sms_outbox.html", messages=list(reversed(sender.outbox)))
