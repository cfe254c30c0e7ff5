"""Every blueprint, pages and API, registered in one place."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app import context
from app.accounts.auth import protect_cookie_api_call, sign_in_by_bearer_token
from app.accounts.roles import Permission, Role
from app.banks.scopes import SCOPE_DESCRIPTIONS
from app.extensions import api, csrf
from app.i18n import html_lang


def register(app: Flask) -> None:
    from app import i18n
    from app.accounts import api as accounts_api
    from app.accounts import code_views, notice_api, security_api, security_views
    from app.accounts import views as accounts_views
    from app.activities import api as activities_api
    from app.activities import consent_api, consent_views
    from app.activities import views as activities_views
    from app.activities.ingest import ActivityItemIn
    from app.api import docs
    from app.banks import api as banks_api
    from app.banks import oauth
    from app.banks import views as banks_views
    from app.bureau import approvals as bureau_approvals
    from app.bureau import audit_api, budget_api
    from app.bureau import budget as bureau_budget
    from app.bureau import views as bureau_views
    from app.dashboard import api as dashboard_api
    from app.dashboard import views as dashboard_views
    from app.filings import api as filings_api
    from app.filings import claim_views, donation_views, registry_views, sale_api, sale_views
    from app.filings import views as filings_views
    from app.jobs import views as jobs_views
    from app.merchants import api as merchants_api
    from app.merchants import bureau_views as merchant_bureau_views
    from app.merchants import views as merchant_views
    from app.methodology import api as methodology_api
    from app.methodology import views as methodology_views
    from app.public import api as public_api
    from app.public import views as public_views
    from app.redemption import api as redemption_api
    from app.redemption import views as redemption_views
    from app.rights import api as rights_api
    from app.rights import views as rights_views
    from app.wallet import api as wallet_api
    from app.wallet import views as wallet_views
    from app.webhooks import api as webhooks_api
    from app.webhooks import views as webhooks_views

    # First of all request hooks: every later hook that reads current_user finds the token's
    # principal instead of making Flask-Login load the account.
    app.before_request(sign_in_by_bearer_token)
    app.before_request(protect_cookie_api_call)
    app.before_request(notice_api.require_current_notice)
    app.context_processor(_template_globals)
    for blueprint in (public_views.bp, accounts_views.bp, bureau_views.bp, i18n.bp, docs.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(security_views.bp)
    app.register_blueprint(bureau_approvals.bp)
    app.register_blueprint(code_views.bp)
    app.register_blueprint(bureau_budget.bp)
    for blueprint in (merchant_views.bp, merchant_bureau_views.bp, redemption_views.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(methodology_views.bureau_bp)
    app.register_blueprint(methodology_views.public_bp)
    app.register_blueprint(activities_views.bp)
    app.register_blueprint(consent_views.bp)
    for blueprint in (
        filings_views.bureau_bp,
        filings_views.verifier_bp,
        claim_views.public_bp,
        claim_views.claims_bp,
        registry_views.bp,
        sale_views.bureau_bp,
        sale_views.resident_bp,
        donation_views.bp,
        jobs_views.bp,
        dashboard_views.bp,
    ):
        app.register_blueprint(blueprint)
    for blueprint in (wallet_views.bp, wallet_views.bureau_bp, webhooks_views.bp, rights_views.bp):
        app.register_blueprint(blueprint)
    oauth.init_app(app)
    app.register_blueprint(banks_views.bp)
    for view in (banks_views.issue_token, banks_views.revoke_token, banks_views.introspect_token):
        csrf.exempt(view)  # banks authenticate with their client secret, not a cookie

    app.config.setdefault("API_SPEC_OPTIONS", API_SPEC_OPTIONS)
    api.init_app(app)
    for blp in (
        accounts_api.blp,
        notice_api.blp,
        security_api.blp,
        audit_api.blp,
        bureau_approvals.blp,
        budget_api.blp,
        methodology_api.blp,
    ):
        csrf.exempt(blp)  # cookie-authenticated changes are checked by protect_cookie_api_call
        api.register_blueprint(blp)
    # A partner's batch item, documented apart: the batch takes any object per item (results by
    # index), so the request body refers to it by name.
    api.spec.components.schema("ActivityItemIn", schema=ActivityItemIn)
    for blp in (
        activities_api.partner_blp,
        activities_api.me_blp,
        consent_api.blp,
        activities_api.bureau_blp,
    ):
        csrf.exempt(blp)  # partners sign their requests; residents' changes as above
        api.register_blueprint(blp)
    for blp in (merchants_api.blp, redemption_api.blp, webhooks_api.blp):
        csrf.exempt(blp)
        api.register_blueprint(blp)
    for blp in (wallet_api.blp, rights_api.blp, sale_api.bureau_blp, sale_api.holder_blp):
        csrf.exempt(blp)  # cookie-authenticated changes are checked by protect_cookie_api_call
        api.register_blueprint(blp)
    for blp in (public_api.blp, filings_api.blp, registry_views.blp):
        csrf.exempt(blp)  # read-only
        api.register_blueprint(blp)
    csrf.exempt(dashboard_api.blp)  # read-only open data
    api.register_blueprint(dashboard_api.blp)
    for blp in (banks_api.blp, banks_api.bank_blp):
        csrf.exempt(blp)  # holders' changes as above; banks carry OAuth bearer tokens
        api.register_blueprint(blp)
    activities_api.document_partner_items(api.spec, context.of(app).kinds)


def _template_globals() -> dict[str, Any]:
    locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    chinese = locale.startswith("zh")
    return {
        "current_locale": locale,
        "html_lang": html_lang(locale),
        "city_name": current_app.config["CITY_NAME" if chinese else "CITY_NAME_EN"],
        "operator": {
            "name": current_app.config["OPERATOR_NAME" if chinese else "OPERATOR_NAME_EN"],
            "contact": current_app.config["OPERATOR_CONTACT"],
            "filing_number": current_app.config["OPERATOR_FILING_NUMBER"],
        },
        "Permission": Permission,
        "role_names": ROLE_NAMES,
    }


ROLE_NAMES = {
    Role.RESIDENT: _l("Resident"),
    Role.ORGANISATION: _l("Organisation"),
    Role.MERCHANT_STAFF: _l("Merchant staff"),
    Role.BUREAU_REVIEWER: _l("Bureau reviewer"),
    Role.BUREAU_ADMIN: _l("Bureau admin"),
    Role.VERIFIER: _l("Third-party verifier"),
}

API_SPEC_OPTIONS = {
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from POST /api/v1/auth/tokens",
            },
            "partnerKey": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Partner-Key",
                "description": "A data partner's key id; the request is also signed (below)",
            },
            "webhookSignature": {
                "type": "apiKey",
                "in": "header",
                "name": "webhook-signature",
                "description": "Standard Webhooks: v1,base64(HMAC-SHA256(whsec secret, "
                "webhook-id.webhook-timestamp.body)), with webhook-id and webhook-timestamp",
            },
            "bankOAuth": {
                "type": "oauth2",
                "description": "A bank's access token, granted by the holder on the consent "
                "page (authorization code with PKCE S256); metadata at "
                "/.well-known/oauth-authorization-server",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "/oauth/authorize",
                        "tokenUrl": "/oauth/token",
                        "refreshUrl": "/oauth/token",
                        "scopes": SCOPE_DESCRIPTIONS,
                    }
                },
            },
            "cookieAuth": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "The web session; changes also need the X-CSRFToken header",
            },
        }
    },
    "security": [{"bearerAuth": []}, {"cookieAuth": []}],
}
