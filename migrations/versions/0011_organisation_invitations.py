"""organisation invitations: an organisation invites a mobile number, the resident decides

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "organisation_invitations",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("organisation_id", _BIG_ID, nullable=False),
        sa.Column(
            "mobile", sa.String(length=11), nullable=False,
            comment="The invited mobile number, 11 digits",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "accepted", "declined", name="invitation_status",
                native_enum=False, create_constraint=True, length=32,
            ),
            nullable=False,
        ),
        sa.Column("invited_by_id", _BIG_ID, nullable=False),
        sa.Column(
            "created_at", app.db.UTCDateTime(), nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column("decided_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["users.id"],
            name=op.f("fk_organisation_invitations_invited_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"],
            name=op.f("fk_organisation_invitations_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_invitations")),
        comment="Invitations to join an organisation, by mobile number",
    )  # fmt: skip
    with op.batch_alter_table("organisation_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_invitations_mobile"), ["mobile"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organisation_invitations_organisation_id"),
            ["organisation_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_organisation_invitations_pending", ["organisation_id", "mobile"], unique=True,
            sqlite_where=_PENDING, postgresql_where=_PENDING,
        )  # fmt: skip


def downgrade() -> None:
    op.drop_table("organisation_invitations")
