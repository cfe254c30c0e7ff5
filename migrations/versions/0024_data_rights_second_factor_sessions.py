"""data rights, staff second factor, sessions one can see and end

- user_sessions: each signed-in browser, where and when it started and was last used.
- api_tokens: where a token was created, when and from where it was last used.
- second_factors, recovery_codes: staff TOTP enrolments (sealed secrets) and single-use codes.
- users.erased_at; account_closures: closing one's account after a cooling-off period.
- data_exports: copies of a resident's data, downloadable until they expire.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db
from app import sealing

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PENDING = sa.text("status = 'pending'")


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", app.db.UTCDateTime(), nullable=False, comment="When the row was created (UTC)"
    )


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users")
    )


def _status(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "erased_at", app.db.UTCDateTime(), nullable=True,
                comment="When a closed account's personal information was erased; the row stays "
                "as the pseudonym its reductions and ledger entries are kept under",
            )
        )  # fmt: skip
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column(
                "created_ip", sa.String(45), nullable=True,
                comment="The address the token was created from",
            )
        )  # fmt: skip
        batch.add_column(
            sa.Column(
                "last_used_at", app.db.UTCDateTime(), nullable=True,
                comment="Last call made with it (written at most once a minute)",
            )
        )  # fmt: skip
        batch.add_column(
            sa.Column(
                "last_used_ip", sa.String(45), nullable=True, comment="The address of that call"
            )
        )
    op.create_table(
        "user_sessions",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("user_id", _BIG_ID, nullable=False),
        sa.Column(
            "sid_hash", sa.String(64), nullable=False,
            comment="SHA-256 (hex) of the cookie's session id",
        ),
        _created_at(),
        sa.Column(
            "last_seen_at", app.db.UTCDateTime(), nullable=False,
            comment="Last request (written at most once a minute)",
        ),
        sa.Column("ip_address", sa.String(45), nullable=True, comment="Where it signed in"),
        sa.Column("last_ip", sa.String(45), nullable=True, comment="Where it was last used"),
        sa.Column("user_agent", sa.String(200), nullable=True, comment="The browser's name"),
        sa.Column(
            "ended_at", app.db.UTCDateTime(), nullable=True,
            comment="Signed out, ended by its holder, or ended by a password change",
        ),
        _user_fk("user_sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("sid_hash", name=op.f("uq_user_sessions_sid_hash")),
        comment="Web sessions: where and when each started and was last used",
    )  # fmt: skip
    with op.batch_alter_table("user_sessions") as batch:
        batch.create_index(batch.f("ix_user_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "second_factors",
        sa.Column("user_id", _BIG_ID, nullable=False),
        sa.Column(
            "secret", sa.String(sealing.SEALED_LENGTH), nullable=False,
            comment="Base32 TOTP secret, sealed (AES-GCM)",
        ),
        sa.Column(
            "confirmed_at", app.db.UTCDateTime(), nullable=True,
            comment="When a first code proved the authenticator; empty while enrolling",
        ),
        sa.Column(
            "last_step", sa.BigInteger(), nullable=True,
            comment="The 30-second step of the last accepted code",
        ),
        _created_at(),
        _user_fk("second_factors"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_second_factors")),
        comment="Staff TOTP enrolments (secrets sealed under SECRET_KEY)",
    )  # fmt: skip
    op.create_table(
        "recovery_codes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("user_id", _BIG_ID, nullable=False),
        sa.Column(
            "code_hash", sa.String(64), nullable=False, comment="SHA-256 (hex) of the code"
        ),
        sa.Column("used_at", app.db.UTCDateTime(), nullable=True),
        _user_fk("recovery_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        comment="Staff recovery codes, as SHA-256 only; each used once",
    )  # fmt: skip
    with op.batch_alter_table("recovery_codes") as batch:
        batch.create_index(batch.f("ix_recovery_codes_user_id"), ["user_id"], unique=False)
    op.create_table(
        "account_closures",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("user_id", _BIG_ID, nullable=False),
        sa.Column(
            "status", _status("closure_status", "pending", "cancelled", "erased"), nullable=False
        ),
        sa.Column(
            "requested_at", app.db.UTCDateTime(), nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "erase_after", app.db.UTCDateTime(), nullable=False,
            comment="End of the cooling-off period: erased by the next run after it",
        ),
        sa.Column("cancelled_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("erased_at", app.db.UTCDateTime(), nullable=True),
        sa.Column(
            "forfeited_points", sa.BigInteger(), nullable=True,
            comment="Points the wallet held at erasure, forfeited by a ledger adjustment",
        ),
        _user_fk("account_closures"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_closures")),
        comment="Account closures: requested, cancelled or carried out",
    )  # fmt: skip
    with op.batch_alter_table("account_closures") as batch:
        batch.create_index(batch.f("ix_account_closures_user_id"), ["user_id"], unique=False)
        batch.create_index(
            "ix_account_closures_status_erase_after", ["status", "erase_after"], unique=False
        )
        batch.create_index(
            "uq_account_closures_pending", ["user_id"], unique=True,
            sqlite_where=_PENDING, postgresql_where=_PENDING,
        )  # fmt: skip
    op.create_table(
        "data_exports",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("user_id", _BIG_ID, nullable=False),
        sa.Column("status", _status("export_status", "pending", "ready"), nullable=False),
        sa.Column(
            "requested_at", app.db.UTCDateTime(), nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column("ready_at", app.db.UTCDateTime(), nullable=True),
        sa.Column(
            "expires_at", app.db.UTCDateTime(), nullable=True,
            comment="The download link ends then; the file is deleted",
        ),
        sa.Column(
            "file_name", sa.String(64), nullable=True, comment="Random file name under EXPORT_DIR"
        ),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("downloads", sa.Integer(), server_default="0", nullable=False),
        _user_fk("data_exports"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_exports")),
        comment="Copies of residents' data (zip files) and when they expire",
    )  # fmt: skip
    with op.batch_alter_table("data_exports") as batch:
        batch.create_index(batch.f("ix_data_exports_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    for table in (
        "data_exports", "account_closures", "recovery_codes", "second_factors", "user_sessions"
    ):  # fmt: skip
        op.drop_table(table)
    with op.batch_alter_table("api_tokens") as batch:
        for column in ("last_used_ip", "last_used_at", "created_ip"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("erased_at")
