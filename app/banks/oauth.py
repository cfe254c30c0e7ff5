"""The OAuth 2.0 authorization server and resource protector, on Authlib.

Authorization code with PKCE (S256, required) for confidential clients; refresh tokens rotate;
revocation (RFC 7009) and introspection (RFC 7662). Only digests of codes and tokens are stored.
The "user" Authlib carries through a grant is the participant's :class:`BankGrant`, so each code
and token hangs off the consent it came from and dies with it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, abort, current_app, g, jsonify
from flask_babel import lazy_gettext as _l

from app import clock
from app.banks import scopes, services
from app.banks.models import BankAuthorizationCode, BankClient, BankGrant, BankToken, digest
from app.db import db
from app.error_handlers import error_body

#: Confidential clients only: banks authenticate with their secret at every endpoint.
CLIENT_AUTH = ["client_secret_basic", "client_secret_post"]
#: Authorization codes live this long (RFC 6749 recommends at most ten minutes).
CODE_SECONDS = 300


class S256Required(CodeChallenge):
    """PKCE for every client, confidential ones too, and only with S256 (no "plain")."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: code_challenge with method S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = CLIENT_AUTH

    def validate_authorization_request(self) -> str:
        redirect_uri = super().validate_authorization_request()
        asked = set((self.request.payload.scope or "").split())
        if not asked or not asked <= set(self.request.client.scopes):
            raise InvalidScopeError(redirect_uri=redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> BankAuthorizationCode:
        grant: BankGrant = request.user
        now = clock.now()
        item = BankAuthorizationCode(
            code_hash=digest(code),
            grant_id=grant.id,
            redirect_uri=request.payload.redirect_uri or "",
            scope=" ".join(grant.scopes),
            code_challenge=request.payload.data.get("code_challenge"),
            code_challenge_method="S256",
            created_at=now,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
        db.session.add(item)
        db.session.flush()
        return item

    def query_authorization_code(
        self, code: str, client: BankClient
    ) -> BankAuthorizationCode | None:
        item = services.find_code(db.session, code, client)
        now = clock.now()
        if item is None:
            return None
        if item.used_at is not None:
            # A second exchange: the tokens of the first are revoked, and that is kept although
            # the request is refused.
            services.code_reused(db.session, item, now)
            db.session.commit()
            return None
        if now >= item.expires_at or not item.grant.is_live(now):
            return None
        return item

    def delete_authorization_code(self, authorization_code: BankAuthorizationCode) -> None:
        authorization_code.used_at = clock.now()
        db.session.flush()

    def authenticate_user(self, authorization_code: BankAuthorizationCode) -> BankGrant:
        return authorization_code.grant


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = CLIENT_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh token is used once

    def authenticate_refresh_token(self, refresh_token: str) -> BankToken | None:
        token = services.find_token(db.session, refresh=refresh_token)
        now = clock.now()
        if token is None or token.revoked_at is not None or now >= token.refresh_expires_at:
            return None
        return token if token.grant.is_live(now) else None

    def authenticate_user(self, refresh_token: BankToken) -> BankGrant:
        return refresh_token.grant

    def revoke_old_credential(self, refresh_token: BankToken) -> None:
        refresh_token.revoked_at = clock.now()
        db.session.flush()


class _TokenLookup:
    def query_token(self, token_string: str, token_type_hint: str | None) -> BankToken | None:
        if token_type_hint == "refresh_token":  # noqa: S105  (a hint's name, not a secret)
            return services.find_token(db.session, refresh=token_string)
        found = services.find_token(db.session, access=token_string)
        if found is None and token_type_hint is None:
            found = services.find_token(db.session, refresh=token_string)
        return found


class Revocation(_TokenLookup, RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = CLIENT_AUTH

    def revoke_token(self, token: BankToken, request: Any) -> None:
        """Revoking either token of a pair ends both (the pair is one row); audited."""
        token.revoked_at = token.revoked_at or clock.now()
        services.token_revoked_by_bank(db.session, token)


class Introspection(_TokenLookup, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = CLIENT_AUTH

    def check_permission(self, token: BankToken, client: BankClient, request: Any) -> bool:
        return token.check_client(client)  # a bank learns nothing of another bank's tokens

    def introspect_token(self, token: BankToken) -> dict[str, Any]:
        if token.is_revoked() or token.is_expired():
            return {"active": False}
        return {
            "active": True,
            "client_id": token.grant.client.client_id,
            "token_type": "Bearer",
            "scope": token.scope,
            "sub": f"grant:{token.grant_id}",
            "iat": int(token.issued_at.timestamp()),
            "exp": int(token.access_expires_at().timestamp()),
        }


def _save_token(token: dict[str, Any], request: Any) -> None:
    grant: BankGrant = request.user
    now = clock.now()
    refresh_days = current_app.config["OAUTH_REFRESH_TOKEN_DAYS"]
    db.session.add(
        BankToken(
            grant_id=grant.id,
            access_token_hash=digest(token["access_token"]),
            refresh_token_hash=digest(token["refresh_token"]) if "refresh_token" in token else None,
            scope=token.get("scope") or " ".join(grant.scopes),
            issued_at=now,
            expires_in=int(token["expires_in"]),
            refresh_expires_at=min(now + timedelta(days=refresh_days), grant.expires_at),
        )
    )
    db.session.flush()


def _query_client(client_id: str) -> BankClient | None:
    return services.client_by_client_id(db.session, client_id)


class BankTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> BankToken | None:
        return services.find_token(db.session, access=token_string)


_READABLE = {
    "invalid_token": _l("The access token is not valid, has expired or was revoked."),
    "insufficient_scope": _l("The holder did not let this bank read this."),
    "missing_authorization": _l("An OAuth 2.0 access token is needed."),
}


class BankResourceProtector(ResourceProtector):
    """Refusals in the platform's one error body, with RFC 6750's WWW-Authenticate header."""

    def raise_error_response(self, error: OAuth2Error) -> None:
        status = error.status_code
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        headers.setdefault("WWW-Authenticate", 'Bearer realm="tanpuhui"')
        message = str(_READABLE.get(error.error, _READABLE["invalid_token"]))
        response = jsonify(error_body(status, error.error, message))
        response.status_code = status
        response.headers.update(headers)
        abort(response)


require_oauth = BankResourceProtector()
require_oauth.register_token_validator(BankTokenValidator())


def init_app(app: Flask) -> None:
    """One authorization server per application, configured from its settings."""
    seconds = app.config["OAUTH_ACCESS_TOKEN_SECONDS"]
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": seconds,
        "refresh_token": seconds,
    }
    app.config["OAUTH2_SCOPES_SUPPORTED"] = list(scopes.SCOPES)
    server = AuthorizationServer()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(AuthorizationCodeGrant, [S256Required(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    app.extensions["tanpuhui.oauth"] = server


def current_token() -> BankToken:
    """The token the guarded route was called with (set by ``require_oauth``)."""
    return g.authlib_server_oauth2_token


def server() -> AuthorizationServer:
    return current_app.extensions["tanpuhui.oauth"]
