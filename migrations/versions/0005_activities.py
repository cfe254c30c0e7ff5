"""activities, data partners, linked identifiers, evidence

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:14:33.490211
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_partners",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column(
            "allowed_kinds",
            sa.JSON(),
            nullable=False,
            comment='Activity kinds this partner may send, e.g. ["bus_ride"]',
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_data_partners_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_data_partners_name")),
        comment="Organisations that push activities through the signed API",
    )
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False, comment="Hex SHA-256; file name"),
        sa.Column(
            "content_type", sa.String(length=32), nullable=False, comment="Decided by magic bytes"
        ),
        sa.Column("size_bytes", sa.Integer(), nullable=False, comment="File size in bytes"),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_evidence_files_not_empty")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_evidence_files_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_files")),
        comment="Self-report evidence stored under EVIDENCE_DIR by SHA-256",
    )
    with op.batch_alter_table("evidence_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_files_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_files_sha256"), ["sha256"], unique=False)

    op.create_table(
        "linked_identifiers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "participant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "identifier_kind",
            sa.Enum(
                "transit_card",
                "bike_account",
                "electricity_meter",
                "gas_meter",
                "recycling_card",
                "step_account",
                name="identifier_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "identifier_hash",
            sa.String(length=64),
            nullable=False,
            comment="HMAC-SHA256 (hex) of 'kind:identifier' under IDENTIFIER_HASH_KEY; never the value",
        ),
        sa.Column("label", sa.String(length=64), nullable=True, comment="The resident's own name"),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["users.id"],
            name=op.f("fk_linked_identifiers_participant_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linked_identifiers")),
        sa.UniqueConstraint("identifier_hash", name=op.f("uq_linked_identifiers_identifier_hash")),
        comment="Identifiers linked to participants, as keyed hashes only",
    )
    with op.batch_alter_table("linked_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_linked_identifiers_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "partner_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "key_id",
            sa.String(length=40),
            nullable=False,
            comment="Public key id the partner sends in X-Partner-Key",
        ),
        sa.Column(
            "secret_ciphertext",
            sa.Text(),
            nullable=False,
            comment="AES-GCM ciphertext of the whsec_ secret (key derived from SECRET_KEY)",
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "revoked_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="From then on the key verifies nothing",
        ),
        sa.Column(
            "revoked_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_partner_keys_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["data_partners.id"],
            name=op.f("fk_partner_keys_partner_id_data_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_partner_keys_revoked_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_partner_keys_key_id")),
        comment="Partner signing keys (key id public, secret encrypted)",
    )
    with op.batch_alter_table("partner_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_keys_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "partner_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "message_id", sa.String(length=255), nullable=False, comment="The webhook-id header"
        ),
        sa.Column(
            "status_code", sa.Integer(), nullable=True, comment="HTTP status of the first answer"
        ),
        sa.Column(
            "response_body",
            sa.Text(),
            nullable=True,
            comment="The first answer's JSON body, byte for byte",
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["data_partners.id"],
            name=op.f("fk_partner_messages_partner_id_data_partners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_messages")),
        sa.UniqueConstraint(
            "partner_id", "message_id", name=op.f("uq_partner_messages_partner_id_message_id")
        ),
        comment="Answered webhook-ids per partner, with the answer given",
    )
    op.create_table(
        "activities",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "partner",
                "self_report",
                name="activity_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "external_id",
            sa.String(length=128),
            nullable=True,
            comment="The partner's own id of the activity",
        ),
        sa.Column(
            "kind", sa.String(length=64), nullable=False, comment="Activity kind, e.g. bus_ride"
        ),
        sa.Column(
            "participant_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="Empty while held for an unlinked identifier",
        ),
        sa.Column(
            "identifier_hash",
            sa.String(length=64),
            nullable=True,
            comment="While held: the keyed hash of the identifier awaited",
        ),
        sa.Column(
            "held_until",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="While held: purged after this instant",
        ),
        sa.Column(
            "occurred_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the action started",
        ),
        sa.Column(
            "ends_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="When a trip ended (start + duration), for overlapping trips",
        ),
        sa.Column(
            "quantities",
            sa.JSON(),
            nullable=False,
            comment="Quantities as reported (km, minutes, kg …); emptied when purged",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "held",
                "verified",
                "flagged",
                "rejected",
                "expired",
                name="activity_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "reasons",
            sa.JSON(),
            nullable=False,
            comment="Checks that fired: code, severity, message (zh/en) or message args",
        ),
        sa.Column(
            "evidence_url",
            sa.String(length=500),
            nullable=True,
            comment="Link to the partner's own evidence",
        ),
        sa.Column(
            "evidence_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "reduction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "credit_fingerprint",
            sa.String(length=64),
            nullable=True,
            comment="Participant + kind + time bucket + key quantities, set while credited",
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "decided_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="When it was verified or rejected",
        ),
        sa.Column(
            "reviewed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("review_note", sa.Text(), nullable=True, comment="The reviewer's reason"),
        sa.CheckConstraint(
            "(source = 'partner') = (partner_id IS NOT NULL AND external_id IS NOT NULL)",
            name=op.f("ck_activities_partner_rows_have_external_id"),
        ),
        sa.CheckConstraint(
            "(status = 'held') = (identifier_hash IS NOT NULL AND held_until IS NOT NULL)",
            name=op.f("ck_activities_held_waits_for_identifier"),
        ),
        sa.CheckConstraint(
            "credit_fingerprint IS NULL OR status = 'verified'",
            name=op.f("ck_activities_only_credited_hold_slot"),
        ),
        sa.CheckConstraint(
            "status IN ('held', 'expired') OR participant_id IS NOT NULL",
            name=op.f("ck_activities_matched_unless_held"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_files.id"],
            name=op.f("fk_activities_evidence_id_evidence_files"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["users.id"], name=op.f("fk_activities_participant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["data_partners.id"],
            name=op.f("fk_activities_partner_id_data_partners"),
        ),
        sa.ForeignKeyConstraint(
            ["reduction_id"], ["reductions.id"], name=op.f("fk_activities_reduction_id_reductions")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_activities_reviewed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sa.UniqueConstraint("credit_fingerprint", name=op.f("uq_activities_credit_fingerprint")),
        sa.UniqueConstraint(
            "partner_id", "external_id", name=op.f("uq_activities_partner_id_external_id")
        ),
        sa.UniqueConstraint("reduction_id", name=op.f("uq_activities_reduction_id")),
        comment="Reported low-carbon actions and their verification outcome",
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activities_participant_occurred", ["participant_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_activities_flagged",
            ["id"],
            unique=False,
            postgresql_where=sa.text("status = 'flagged'"),
            sqlite_where=sa.text("status = 'flagged'"),
        )
        batch_op.create_index(
            "ix_activities_held_identifier",
            ["identifier_hash"],
            unique=False,
            postgresql_where=sa.text("identifier_hash IS NOT NULL"),
            sqlite_where=sa.text("identifier_hash IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_activities_held_until",
            ["held_until"],
            unique=False,
            postgresql_where=sa.text("held_until IS NOT NULL"),
            sqlite_where=sa.text("held_until IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_held_until")
        batch_op.drop_index("ix_activities_held_identifier")
        batch_op.drop_index("ix_activities_flagged")
        batch_op.drop_index("ix_activities_participant_occurred")

    op.drop_table("activities")
    op.drop_table("partner_messages")
    with op.batch_alter_table("partner_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_keys_partner_id"))

    op.drop_table("partner_keys")
    with op.batch_alter_table("linked_identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_linked_identifiers_participant_id"))

    op.drop_table("linked_identifiers")
    with op.batch_alter_table("evidence_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_files_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_files_owner_id"))

    op.drop_table("evidence_files")
    op.drop_table("data_partners")
