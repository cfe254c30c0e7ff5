"""governed offset claims: organisations are verified, a claim is a request the bureau approves

An organisation's unified social credit code is reviewed by the bureau before it may claim
tonnes, and a claim retires nothing until the bureau approves it; only then does it get a
certificate number. Claims made before this revision had been retired at once and keep their
certificates, so they become approved.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("offset_claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "requested", "approved", "rejected", name="claim_status",
                    native_enum=False, create_constraint=True, length=32,
                ),
                server_default="approved",
                nullable=False,
            )
        )  # fmt: skip
        batch_op.add_column(
            sa.Column(
                "decided_by_id", _BIG_ID, nullable=True,
                comment="Bureau staff who approved or rejected",
            )
        )  # fmt: skip
        batch_op.add_column(sa.Column("decided_at", app.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("rejection_reason", sa.String(length=256), nullable=True))
        batch_op.alter_column(
            "serial",
            existing_type=sa.VARCHAR(length=32),
            nullable=True,
            comment="Certificate number, CN-<yyyy>-<n>; set on approval",
            existing_comment="Certificate number, CN-<yyyy>-<id>",
        )
        batch_op.create_index(batch_op.f("ix_offset_claims_status"), ["status"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_offset_claims_decided_by_id_users"), "users", ["decided_by_id"], ["id"]
        )
        batch_op.create_check_constraint(
            "certificate_only_when_approved", "(status = 'approved') = (serial IS NOT NULL)"
        )
    with op.batch_alter_table("offset_claims", schema=None) as batch_op:
        batch_op.alter_column(
            "status", server_default="requested", existing_type=sa.String(length=32)
        )

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "verification",
                sa.Enum(
                    "unverified", "pending", "verified", "rejected", name="verification",
                    native_enum=False, create_constraint=True, length=32,
                ),
                server_default="unverified",
                nullable=False,
                comment="The bureau's review of the credit code; only verified organisations "
                "claim tonnes",
            )
        )  # fmt: skip
        batch_op.add_column(
            sa.Column(
                "verification_note", sa.String(length=256), nullable=True,
                comment="Why the bureau rejected the credit code",
            )
        )  # fmt: skip
        batch_op.add_column(
            sa.Column(
                "verified_by_id", _BIG_ID, nullable=True,
                comment="Bureau staff who decided the review",
            )
        )  # fmt: skip
        batch_op.add_column(sa.Column("verified_at", app.db.UTCDateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_organisations_verification"), ["verification"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_organisations_verified_by_id_users"),
            "users",
            ["verified_by_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_organisations_verified_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_organisations_verification"))
        batch_op.drop_constraint(batch_op.f("ck_organisations_verification"), type_="check")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verified_by_id")
        batch_op.drop_column("verification_note")
        batch_op.drop_column("verification")

    op.execute("DELETE FROM offset_allocations WHERE claim_id IN "
               "(SELECT id FROM offset_claims WHERE status <> 'approved')")  # fmt: skip
    op.execute("DELETE FROM offset_claims WHERE status <> 'approved'")
    with op.batch_alter_table("offset_claims", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_offset_claims_certificate_only_when_approved"), type_="check"
        )
        batch_op.drop_constraint(batch_op.f("ck_offset_claims_claim_status"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_offset_claims_decided_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_offset_claims_status"))
        batch_op.alter_column(
            "serial",
            existing_type=sa.VARCHAR(length=32),
            nullable=False,
            comment="Certificate number, CN-<yyyy>-<id>",
            existing_comment="Certificate number, CN-<yyyy>-<n>; set on approval",
        )
        batch_op.drop_column("rejection_reason")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_id")
        batch_op.drop_column("status")
