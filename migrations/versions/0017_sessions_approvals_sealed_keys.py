"""sessions that end, second-admin approvals, voucher keys sealed

- users.session_version: bumped at sign-out, password change and deactivation; a session or API
  token made under an older version no longer signs anyone in.
- approval_requests: actions one bureau admin asks for and a second, different admin decides.
- merchants.voucher_key / previous_voucher_key: sealed with AES-GCM under a key derived from
  SECRET_KEY (app.sealing), as partner secrets already are; existing keys are sealed here, so
  the migration needs the deployment's SECRET_KEY when merchants exist.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 17:00:00.000000
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

import app.db
from app import sealing

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PURPOSE = b"tanpuhui voucher keys v1"  # app.merchants.models.VOUCHER_KEY_PURPOSE
_KEY_COMMENT = (
    "Hex key shared with the merchant so its gates can check voucher codes offline; sealed "
    "(AES-GCM under a key derived from SECRET_KEY)"
)
_OLD_KEY_COMMENT = "Hex key shared with the merchant so its gates can check voucher codes offline"
_PREVIOUS_COMMENT = (
    "The key before the last rotation: vouchers issued before it still check with it; sealed"
)
_OLD_PREVIOUS_COMMENT = (
    "The key before the last rotation: vouchers issued before it still check with it"
)
_VERSION_COMMENT = (
    "Bumped at sign-out, password change and deactivation: older sessions and tokens end"
)


def _secret_key() -> str | None:
    return context.config.attributes.get("secret_key") or os.environ.get("SECRET_KEY")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "session_version", sa.Integer(), server_default="0", nullable=False,
                comment=_VERSION_COMMENT,
            )
        )  # fmt: skip
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column(
                "session_version", sa.Integer(), server_default="0", nullable=False,
                comment="The account's session version when the token was issued",
            )
        )  # fmt: skip
    op.create_table(
        "approval_requests",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "staff.create_admin", "staff.change_role", "ledger.adjust",
                name="approval_action", native_enum=False, create_constraint=True, length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "payload", sa.JSON(), nullable=False,
            comment="What to do once approved (plain values; a new admin's password as its hash)",
        ),
        sa.Column(
            "summary", sa.JSON(), nullable=False,
            comment="What the deciding admin is shown; never a secret",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "approved", "refused", name="approval_status",
                native_enum=False, create_constraint=True, length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_by_id", _BIG_ID, nullable=False),
        sa.Column("decided_by_id", _BIG_ID, nullable=True),
        sa.Column(
            "created_at", app.db.UTCDateTime(), nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column("decided_at", app.db.UTCDateTime(), nullable=True),
        sa.Column(
            "result", sa.String(length=64), nullable=True,
            comment="What the approved action made: the new account's or transaction's id",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"],
            name=op.f("fk_approval_requests_requested_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_approval_requests_decided_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
        comment="Actions one bureau admin asked for that a second, different admin decides",
    )  # fmt: skip
    with op.batch_alter_table("approval_requests") as batch:
        batch.create_index(batch.f("ix_approval_requests_status"), ["status"], unique=False)
    with op.batch_alter_table("merchants") as batch:
        batch.alter_column(
            "voucher_key",
            existing_type=sa.String(64),
            type_=sa.String(sealing.SEALED_LENGTH),
            existing_nullable=False,
            comment=_KEY_COMMENT,
            existing_comment=_OLD_KEY_COMMENT,
        )
        batch.alter_column(
            "previous_voucher_key", existing_type=sa.String(64),
            type_=sa.String(sealing.SEALED_LENGTH), existing_nullable=True,
            comment=_PREVIOUS_COMMENT, existing_comment=_OLD_PREVIOUS_COMMENT,
        )  # fmt: skip
    _reseal(lambda key, value: value if sealing.is_sealed(value) else sealing.seal(
        key, _PURPOSE, "", value))  # fmt: skip


def downgrade() -> None:
    _reseal(lambda key, value: sealing.unseal(key, _PURPOSE, "", value)
            if sealing.is_sealed(value) else value)  # fmt: skip
    with op.batch_alter_table("merchants") as batch:
        batch.alter_column(
            "voucher_key",
            existing_type=sa.String(sealing.SEALED_LENGTH),
            type_=sa.String(64),
            existing_nullable=False,
            comment=_OLD_KEY_COMMENT,
            existing_comment=_KEY_COMMENT,
        )
        batch.alter_column(
            "previous_voucher_key", existing_type=sa.String(sealing.SEALED_LENGTH),
            type_=sa.String(64), existing_nullable=True,
            comment=_OLD_PREVIOUS_COMMENT, existing_comment=_PREVIOUS_COMMENT,
        )  # fmt: skip
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_index(batch.f("ix_approval_requests_status"))
    op.drop_table("approval_requests")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("session_version")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")


def _reseal(change) -> None:  # type: ignore[no-untyped-def]
    """Apply ``change(secret_key, value)`` to every merchant's voucher keys."""
    connection = op.get_bind()
    merchants = sa.table(
        "merchants", sa.column("id"), sa.column("voucher_key"), sa.column("previous_voucher_key")
    )
    rows = connection.execute(
        sa.select(merchants.c.id, merchants.c.voucher_key, merchants.c.previous_voucher_key)
    ).all()
    if not rows:
        return
    key = _secret_key()
    if not key:
        raise RuntimeError(
            "migration 0017 seals the merchants' voucher keys with SECRET_KEY: run it "
            "through `flask db upgrade` or with SECRET_KEY set"
        )
    for merchant_id, current, previous in rows:
        connection.execute(
            merchants.update()
            .where(merchants.c.id == merchant_id)
            .values(
                voucher_key=change(key, current),
                previous_voucher_key=None if previous is None else change(key, previous),
            )
        )
