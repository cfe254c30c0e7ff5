"""The OAuth 2.0 endpoints (authorize with its consent page, token, revoke, introspect), the
server metadata and JWKS, and the holder's page of authorised apps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.banks import oauth, services, statements
from app.banks import scopes as scope_catalogue
from app.banks.forms import BankForm
from app.banks.models import BankClient
from app.context import city_zone
from app.db import db
from app.errors import DomainError
from app.observability import CONTENT_SECURITY_POLICY

bp = Blueprint("banks", __name__)

_PKCE_METHODS = ["S256"]


def _refused(error: OAuth2Error) -> Any:
    """Before the redirect URI is trusted, the resident reads the refusal here (RFC 6749
    §4.1.2.1); after, the bank learns it at its redirect URI."""
    if error.redirect_uri:
        return oauth.server().handle_error_response(None, error)
    if error.error == "invalid_client":
        message = _l(
            "This bank is not registered with the platform, or the bureau has switched it off. "
            "Nothing was shared."
        )
        return render_template("error.html", status=400, message=message), 400
    message = _l("This link from a bank is not valid (%(reason)s).", reason=error.error)
    return render_template("error.html", status=400, message=message), 400


@bp.route("/oauth/authorize", methods=["GET", "POST"])
@requires(Permission.USE_WALLET)
def authorize() -> Any:
    """The consent page: the bank, what it will see and for how long; allow or refuse."""
    server = oauth.server()
    try:
        grant = server.get_consent_grant(end_user=current_user)
    except OAuth2Error as error:
        return _refused(error)
    client: BankClient = grant.client
    requested = (grant.request.payload.scope or "").split()
    shareable = services.grantable(client, requested, current_user.role)
    days = current_app.config["OAUTH_GRANT_DAYS"]
    now = clock.now()
    if request.method == "GET":
        page = render_template(
            "banks/consent.html",
            client=client,
            scopes=[scope_catalogue.SCOPES[code] for code in shareable],
            withheld=[code for code in scope_catalogue.known(requested) if code not in shareable],
            days=days,
            until=clock.local_date(now, city_zone()) + timedelta(days=days),
        )
        return _with_bank_origins(page, client)
    if request.form.get("decision") != "allow" or not shareable:
        services.record_refusal(db.session, current_actor(), client)
        db.session.commit()  # the refusal is kept though the bank is told access_denied
        return server.create_authorization_response(grant_user=None, grant=grant)
    consent = services.consent(
        db.session, current_actor(), client=client, holder_id=current_user.id,
        holder_role=current_user.role, requested=requested, now=now, days=days,
    )  # fmt: skip
    return server.create_authorization_response(grant_user=consent, grant=grant)


def _with_bank_origins(page: str, client: BankClient) -> Response:
    """The consent page may show the bank's logo, and its form redirects to the bank."""
    response = Response(page)
    origins = " ".join(sorted({_origin(uri) for uri in client.redirect_uris}))
    logo = f" {_origin(client.logo_uri)}" if client.logo_uri else ""
    policy = CONTENT_SECURITY_POLICY.replace("img-src 'self'", f"img-src 'self'{logo}")
    response.headers["Content-Security-Policy"] = policy.replace(
        "form-action 'self'", f"form-action 'self' {origins}"
    )
    return response


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


@bp.post("/oauth/token")
def issue_token() -> Response:
    """Authorization code (with the PKCE verifier) or refresh token for tokens (RFC 6749)."""
    return oauth.server().create_token_response()


@bp.post("/oauth/revoke")
def revoke_token() -> Response:
    """RFC 7009: a bank revokes its own access or refresh token."""
    return oauth.server().create_endpoint_response("revocation")


@bp.post("/oauth/introspect")
def introspect_token() -> Response:
    """RFC 7662: a bank asks whether one of its own tokens is active."""
    return oauth.server().create_endpoint_response("introspection")


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    """RFC 8414 server metadata."""
    root = request.url_root.rstrip("/")
    methods = ["client_secret_basic", "client_secret_post"]
    return jsonify(
        {
            "issuer": root,
            "authorization_endpoint": root + url_for("banks.authorize"),
            "token_endpoint": root + url_for("banks.issue_token"),
            "revocation_endpoint": root + url_for("banks.revoke_token"),
            "introspection_endpoint": root + url_for("banks.introspect_token"),
            "jwks_uri": root + url_for("banks.jwks"),
            "scopes_supported": list(scope_catalogue.SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_methods_supported": methods,
            "introspection_endpoint_auth_methods_supported": methods,
            "code_challenge_methods_supported": _PKCE_METHODS,
            "service_documentation": root + "/api/v1/docs",
            "ui_locales_supported": ["zh-CN", "en"],
        }
    )


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The public keys carbon statements are signed with (the signing key and those retired
    within the overlap)."""
    return jsonify(statements.jwks(db.session, clock.now()))


@bp.get("/me/authorised-apps")
@requires(Permission.USE_WALLET)
def authorised_apps() -> str:
    grants = services.authorised_apps(db.session, current_user.id, clock.now())
    zone = city_zone()
    return render_template(
        "banks/authorised_apps.html",
        grants=grants,
        scopes=scope_catalogue.SCOPES,
        local_day=lambda instant: clock.local_date(instant, zone),
    )


@bp.post("/me/authorised-apps/<int:grant_id>/revoke")
@requires(Permission.USE_WALLET)
def revoke_app(grant_id: int) -> Response:
    grant = services.revoke_grant(
        db.session, current_actor(), holder_id=current_user.id, grant_id=grant_id, now=clock.now()
    )
    flash(str(_l("%(bank)s can no longer read your record.", bank=grant.client.name)), "success")
    return redirect(url_for("banks.authorised_apps"), code=303)


def _bureau_page(
    form: BankForm,
    registered: services.RegisteredClient | None = None,
    status: int = 200,
    rotated: services.RegisteredClient | None = None,
) -> tuple[str, int]:
    form.set_merchant_choices([(m.id, m.name) for m in services.financial_merchants(db.session)])
    page = render_template(
        "banks/bureau.html",
        form=form,
        banks=services.clients(db.session),
        registered=registered,
        rotated=rotated,
        metadata_url=request.url_root.rstrip("/") + url_for("banks.metadata"),
    )
    return page, status


@bp.route("/bureau/banks", methods=["GET", "POST"])
@requires(Permission.MANAGE_PARTNERS)
def bureau_banks() -> Any:
    """The bureau registers financial partners; the client secret is shown in one answer."""
    form = BankForm()
    if request.method == "GET":
        return _bureau_page(form)
    if not form.validate_on_submit():
        return _bureau_page(form, status=400)
    try:
        registered = services.register_client(
            db.session, current_actor(), name=form.name.data or "",
            redirect_uris=form.redirect_uri_list(), scopes=form.scopes.data or [],
            logo_uri=form.logo_uri.data or None, merchant_id=form.chosen_merchant_id(),
        )  # fmt: skip
    except DomainError as error:
        field = getattr(form, error.field or "", None)
        if field is not None:
            field.errors = [*field.errors, str(error.message)]
        return _bureau_page(form, status=error.status)
    # The secret is rendered into this one answer, never flashed (flashes live in the cookie).
    return _bureau_page(BankForm(formdata=None), registered=registered, status=201)


@bp.post("/bureau/banks/<int:bank_id>/secret")
@requires(Permission.MANAGE_PARTNERS)
def rotate_bank_secret(bank_id: int) -> Any:
    """A new client secret, shown in this one answer; the old one stops working at once."""
    rotated = services.rotate_secret(db.session, current_actor(), bank_id)
    return _bureau_page(BankForm(formdata=None), rotated=rotated, status=201)


@bp.post("/bureau/banks/<int:bank_id>/disable")
@requires(Permission.MANAGE_PARTNERS)
def disable_bank(bank_id: int) -> Response:
    return _switch(bank_id, active=False)


@bp.post("/bureau/banks/<int:bank_id>/enable")
@requires(Permission.MANAGE_PARTNERS)
def enable_bank(bank_id: int) -> Response:
    return _switch(bank_id, active=True)


def _switch(bank_id: int, *, active: bool) -> Response:
    client = services.set_active(
        db.session, current_actor(), bank_id, active=active, now=clock.now()
    )
    message = (
        _l("%(bank)s is switched on: it may ask holders for new codes.", bank=client.name)
        if active
        else _l("%(bank)s is switched off: its tokens were revoked.", bank=client.name)
    )
    flash(str(message), "success")
    return redirect(url_for("banks.bureau_banks"), code=303)
