"""SMS one-time codes and consents

- one_time_codes: 6-digit codes texted for sign-up, sign-in and password reset, kept as keyed
  hashes with their expiry; the retention job deletes them once expired.
- consents: privacy-notice consents (with the notice's version) and data-partner consents given
  when an identifier is linked; a withdrawal is a new row naming its grant (append-only).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "one_time_codes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("mobile", sa.String(11), nullable=False, comment="The number it was sent to"),
        sa.Column("purpose", _enum("code_purpose", "sign_up", "sign_in", "reset"), nullable=False),
        sa.Column(
            "code_hash", sa.String(64), nullable=False,
            comment="HMAC-SHA256 (hex) of purpose, number and code; never the code",
        ),
        sa.Column(
            "created_at", app.db.UTCDateTime(), nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column("expires_at", app.db.UTCDateTime(), nullable=False),
        sa.Column(
            "used_at", app.db.UTCDateTime(), nullable=True,
            comment="Used, replaced by a newer code, failed to send or guessed at too often",
        ),
        sa.Column(
            "failed_attempts", sa.Integer(), server_default="0", nullable=False,
            comment="Wrong codes entered for this number and purpose",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_codes")),
        comment="SMS one-time codes (hashed); deleted by the retention job once expired",
    )  # fmt: skip
    op.create_index(
        "ix_one_time_codes_mobile_purpose", "one_time_codes", ["mobile", "purpose"], unique=False
    )
    op.create_index(
        op.f("ix_one_time_codes_expires_at"), "one_time_codes", ["expires_at"], unique=False
    )
    op.create_table(
        "consents",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("user_id", _BIG_ID, nullable=False),
        sa.Column(
            "purpose", _enum("consent_purpose", "privacy_notice", "data_partner"), nullable=False
        ),
        sa.Column("action", _enum("consent_action", "granted", "withdrawn"), nullable=False),
        sa.Column(
            "channel", sa.String(16), nullable=False, comment="Where it was given: web or api"
        ),
        sa.Column(
            "notice_version", sa.String(32), nullable=True,
            comment="The privacy notice's version consented to",
        ),
        sa.Column(
            "grant_id", _BIG_ID, nullable=True, comment="The grant a withdrawal ends"
        ),
        sa.Column(
            "link_id", _BIG_ID, nullable=True,
            comment="The linked identifier it covers (kept after an unlink)",
        ),
        sa.Column(
            "link_label", sa.String(64), nullable=True,
            comment="The link's label when consented; never the identifier",
        ),
        sa.Column("identifier_kind", sa.String(40), nullable=True),
        sa.Column("partner_id", _BIG_ID, nullable=True),
        sa.Column("partner_name", sa.String(128), nullable=True),
        sa.Column(
            "sends", sa.JSON(), nullable=True,
            comment="Activity kind codes the partner reports for this identifier kind",
        ),
        sa.Column(
            "created_at", app.db.UTCDateTime(), nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_consents_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["consents.id"], name=op.f("fk_consents_grant_id_consents")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["data_partners.id"], name=op.f("fk_consents_partner_id_data_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("grant_id", name=op.f("uq_consents_grant_id")),
        comment="Consents given and withdrawn (append-only)",
    )  # fmt: skip
    op.create_index(op.f("ix_consents_user_id"), "consents", ["user_id"], unique=False)
    op.create_index(op.f("ix_consents_link_id"), "consents", ["link_id"], unique=False)


def downgrade() -> None:
    op.drop_table("consents")
    op.drop_table("one_time_codes")
