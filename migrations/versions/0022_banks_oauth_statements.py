"""Financial partners: OAuth 2.0 clients, grants, codes and tokens; statement signing keys

- bank_clients: banks the bureau registered (secret stored as its SHA-256, shown once);
- bank_grants: a resident's or organisation's consent to a bank, revoked at once when withdrawn;
- bank_authorization_codes, bank_tokens: digests only, each bound to its grant;
- statement_keys: Ed25519 keys signing carbon statements, the private half sealed (AES-GCM).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "statement_keys",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False, comment="JWK key id"),
        sa.Column("public_jwk", sa.JSON(), nullable=False, comment="The public key as a JWK"),
        sa.Column(
            "private_key",
            sa.String(length=160),
            nullable=False,
            comment="Raw Ed25519 private key, hex; sealed (AES-GCM under a key derived from SECRET_KEY)",
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "retired_at",
            app.db.UTCDateTime(),
            nullable=True,
            comment="When a newer key took over signing",
        ),
        sa.Column(
            "published_until",
            app.db.UTCDateTime(),
            nullable=True,
            comment="Last instant the retired key is still published in the JWKS",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_statement_keys_kid")),
        comment="Ed25519 keys signing carbon statements (JWS), rotated",
    )
    op.create_table(
        "bank_clients",
        sa.Column("id", _ID, nullable=False),
        sa.Column(
            "client_id", sa.String(length=48), nullable=False, comment="Public client identifier"
        ),
        sa.Column(
            "secret_hash",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the client secret (the secret is shown once)",
        ),
        sa.Column(
            "name",
            sa.String(length=128),
            nullable=False,
            comment="The bank's name shown on consent",
        ),
        sa.Column(
            "logo_uri", sa.String(length=512), nullable=True, comment="https URL of its logo"
        ),
        sa.Column(
            "redirect_uris",
            sa.JSON(),
            nullable=False,
            comment="Exact redirect URIs the bank may send residents back to",
        ),
        sa.Column("scopes", sa.JSON(), nullable=False, comment="Scopes the bank may ask for"),
        sa.Column("created_by_id", _ID, nullable=True, comment="Bureau staff who registered it"),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "disabled_at",
            app.db.UTCDateTime(),
            nullable=True,
            comment="When the bureau switched it off; empty while it may be used",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_bank_clients_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_bank_clients_client_id")),
        comment="Financial partners registered as OAuth 2.0 clients",
    )
    op.create_table(
        "bank_grants",
        sa.Column("id", _ID, nullable=False),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column(
            "user_id", _ID, nullable=False, comment="The resident or organisation who consented"
        ),
        sa.Column("scopes", sa.JSON(), nullable=False, comment="Scopes consented to"),
        sa.Column(
            "granted_at",
            app.db.UTCDateTime(),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "expires_at", app.db.UTCDateTime(), nullable=False, comment="When the consent lapses"
        ),
        sa.Column(
            "revoked_at",
            app.db.UTCDateTime(),
            nullable=True,
            comment="When the participant (or the bureau) withdrew it",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["bank_clients.id"], name=op.f("fk_bank_grants_client_id_bank_clients")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_bank_grants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_grants")),
        comment="Consents a resident or organisation gave a bank (append-only but revoked_at)",
    )
    with op.batch_alter_table("bank_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_grants_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_bank_grants_user_client", ["user_id", "client_id"], unique=False)

    op.create_table(
        "bank_authorization_codes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False, comment="SHA-256 of code"),
        sa.Column("grant_id", _ID, nullable=False),
        sa.Column("redirect_uri", sa.String(length=512), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False, comment="Space-separated scopes"),
        sa.Column(
            "code_challenge", sa.String(length=128), nullable=False, comment="PKCE challenge"
        ),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=False, comment="S256"),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column("expires_at", app.db.UTCDateTime(), nullable=False),
        sa.Column(
            "used_at",
            app.db.UTCDateTime(),
            nullable=True,
            comment="When it was exchanged; a second exchange revokes the grant",
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["bank_grants.id"],
            name=op.f("fk_bank_authorization_codes_grant_id_bank_grants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_authorization_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_bank_authorization_codes_code_hash")),
        comment="OAuth 2.0 authorization codes (digests), used at most once",
    )
    with op.batch_alter_table("bank_authorization_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_authorization_codes_grant_id"), ["grant_id"], unique=False
        )

    op.create_table(
        "bank_tokens",
        sa.Column("id", _ID, nullable=False),
        sa.Column("grant_id", _ID, nullable=False),
        sa.Column("access_token_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.String(length=255), nullable=False, comment="Space-separated scopes"),
        sa.Column(
            "issued_at",
            app.db.UTCDateTime(),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "expires_in", sa.Integer(), nullable=False, comment="Seconds the access token lives"
        ),
        sa.Column("refresh_expires_at", app.db.UTCDateTime(), nullable=False),
        sa.Column(
            "revoked_at",
            app.db.UTCDateTime(),
            nullable=True,
            comment="Revoked, or its refresh token was used (rotation)",
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["bank_grants.id"], name=op.f("fk_bank_tokens_grant_id_bank_grants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_tokens")),
        sa.UniqueConstraint("access_token_hash", name=op.f("uq_bank_tokens_access_token_hash")),
        sa.UniqueConstraint("refresh_token_hash", name=op.f("uq_bank_tokens_refresh_token_hash")),
        comment="OAuth 2.0 access and refresh tokens (SHA-256 digests)",
    )
    with op.batch_alter_table("bank_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_tokens_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bank_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_tokens_grant_id"))

    op.drop_table("bank_tokens")
    with op.batch_alter_table("bank_authorization_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_authorization_codes_grant_id"))

    op.drop_table("bank_authorization_codes")
    with op.batch_alter_table("bank_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_grants_user_client")
        batch_op.drop_index(batch_op.f("ix_bank_grants_client_id"))

    op.drop_table("bank_grants")
    op.drop_table("bank_clients")
    op.drop_table("statement_keys")
