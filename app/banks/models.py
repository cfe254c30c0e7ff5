"""Banks as OAuth 2.0 clients, the grants participants give them, and the statement keys.

Secrets and tokens are stored as SHA-256 digests only (shown once to whoever they are issued to);
a statement key's private half is sealed (AES-GCM) like a merchant's voucher key.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.db import Base, BigId, UTCDateTime, created_at, intpk
from app.merchants.models import Merchant
from app.sealing import SealedString

STATEMENT_KEY_PURPOSE = b"tanpuhui statement signing key v1"


def digest(secret: str) -> str:
    """What is stored of a client secret, code or token: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


class BankClient(Base):
    """A financial partner registered by the bureau as an OAuth 2.0 client (confidential)."""

    __tablename__ = "bank_clients"
    __table_args__ = ({"comment": "Financial partners registered as OAuth 2.0 clients"},)

    id: Mapped[intpk]
    client_id: Mapped[str] = mapped_column(
        sa.String(48), unique=True, comment="Public client identifier"
    )
    secret_hash: Mapped[str] = mapped_column(
        sa.String(64), comment="SHA-256 of the client secret (the secret is shown once)"
    )
    name: Mapped[str] = mapped_column(sa.String(128), comment="The bank's name shown on consent")
    logo_uri: Mapped[str | None] = mapped_column(sa.String(512), comment="https URL of its logo")
    redirect_uris: Mapped[list[str]] = mapped_column(
        sa.JSON, comment="Exact redirect URIs the bank may send residents back to"
    )
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, comment="Scopes the bank may ask for")
    merchant_id: Mapped[int | None] = mapped_column(
        BigId,
        sa.ForeignKey("merchants.id"),
        comment="The bank's financial merchant, told of revoked grants by webhook; "
        "empty: no merchant",
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="Bureau staff who registered it"
    )
    created_at: Mapped[created_at]
    disabled_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the bureau switched it off; empty while it may be used"
    )

    merchant: Mapped[Merchant | None] = relationship()

    @property
    def is_active(self) -> bool:
        """Whether the bureau lets it be used now (not switched off)."""
        return self.disabled_at is None

    # Authlib's ClientMixin.
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        asked = (scope or "").split()
        return " ".join(s for s in self.scopes if s in asked)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(digest(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in {"authorization_code", "refresh_token"}


class BankGrant(Base):
    """A participant's consent that one bank reads some scopes until it ends or is revoked.

    Every code and token hangs off a grant, so revoking the grant ends them all at once.
    """

    __tablename__ = "bank_grants"
    __table_args__ = (
        sa.Index("ix_bank_grants_user_client", "user_id", "client_id"),
        {"comment": "Consents a resident or organisation gave a bank (append-only but revoked_at)"},
    )

    id: Mapped[intpk]
    client_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("bank_clients.id"), index=True)
    user_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="The resident or organisation who consented"
    )
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, comment="Scopes consented to")
    granted_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When the consent lapses")
    revoked_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When the participant (or the bureau) withdrew it"
    )

    client: Mapped[BankClient] = relationship(lazy="joined", innerjoin=True)

    def is_live(self, now: datetime) -> bool:
        """Whether the bank may use it now: not withdrawn, not lapsed, its bank switched on.

        The one rule every code and token is checked by (the resource API, introspection, the
        refresh and code exchanges), so a switched-off bank reads nothing with any of them.
        """
        return self.revoked_at is None and now < self.expires_at and self.client.is_active


class BankAuthorizationCode(Base):
    """A one-time authorization code, bound to its client, redirect URI and PKCE challenge."""

    __tablename__ = "bank_authorization_codes"
    __table_args__ = ({"comment": "OAuth 2.0 authorization codes (digests), used at most once"},)

    id: Mapped[intpk]
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, comment="SHA-256 of code")
    grant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("bank_grants.id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(sa.String(512))
    scope: Mapped[str] = mapped_column(sa.String(255), comment="Space-separated scopes")
    code_challenge: Mapped[str] = mapped_column(sa.String(128), comment="PKCE challenge")
    code_challenge_method: Mapped[str] = mapped_column(sa.String(8), comment="S256")
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it was exchanged; a second exchange revokes the grant"
    )

    grant: Mapped[BankGrant] = relationship(lazy="joined", innerjoin=True)

    # Authlib's AuthorizationCodeMixin.
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> None:
        return None

    def get_auth_time(self) -> int:
        return int(self.created_at.timestamp())


class BankToken(Base):
    """An access token and its refresh token (digests); a refresh rotates both."""

    __tablename__ = "bank_tokens"
    __table_args__ = ({"comment": "OAuth 2.0 access and refresh tokens (SHA-256 digests)"},)

    id: Mapped[intpk]
    grant_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("bank_grants.id"), index=True)
    access_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    scope: Mapped[str] = mapped_column(sa.String(255), comment="Space-separated scopes")
    issued_at: Mapped[created_at]
    expires_in: Mapped[int] = mapped_column(comment="Seconds the access token lives")
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Revoked, or its refresh token was used (rotation)"
    )

    grant: Mapped[BankGrant] = relationship(lazy="joined", innerjoin=True)

    def access_expires_at(self) -> datetime:
        return self.issued_at + timedelta(seconds=self.expires_in)

    # Authlib's TokenMixin: a token lives no longer than its grant.
    def check_client(self, client: BankClient) -> bool:
        return self.grant.client_id == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return clock.now() >= self.access_expires_at()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or not self.grant.is_live(clock.now())

    def get_user(self) -> BankGrant:
        return self.grant

    def get_client(self) -> BankClient:
        return self.grant.client


class StatementKey(Base):
    """A key the platform signs carbon statements with (Ed25519); rotated with overlap.

    The newest unretired key signs; a retired key stays published until ``published_until`` so
    statements it signed still verify.
    """

    __tablename__ = "statement_keys"
    __table_args__ = ({"comment": "Ed25519 keys signing carbon statements (JWS), rotated"},)

    id: Mapped[intpk]
    kid: Mapped[str] = mapped_column(sa.String(64), unique=True, comment="JWK key id")
    public_jwk: Mapped[dict[str, Any]] = mapped_column(comment="The public key as a JWK")
    private_key: Mapped[str] = mapped_column(
        SealedString(STATEMENT_KEY_PURPOSE),
        comment="Raw Ed25519 private key, hex; sealed (AES-GCM under a key derived from "
        "SECRET_KEY)",
    )
    created_at: Mapped[created_at]
    retired_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a newer key took over signing"
    )
    published_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Last instant the retired key is still published in the JWKS"
    )

    def is_published(self, now: datetime) -> bool:
        return self.published_until is None or now <= self.published_until
