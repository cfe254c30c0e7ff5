"""A monthly points budget: budgets and what is charged to them, and deferred points released

Issuances record the part a month's budget could not cover (deferred or scaled away), and the
points each reduction earns add up with it. On SQLite the issuances table is rebuilt to change
its CHECK, so its append-only triggers are made again.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD_SUM = (
    "issued_points >= 0 AND capped_points >= 0 AND requested_points = issued_points + capped_points"
)
_NEW_SUM = (
    "issued_points >= 0 AND capped_points >= 0 AND budget_points >= 0 "
    "AND requested_points = issued_points + capped_points + budget_points"
)


def _sqlite_triggers(create: bool) -> None:
    """The issuances' append-only triggers on SQLite (a rebuilt table loses them)."""
    if op.get_bind().dialect.name == "postgresql":
        return
    for event in ("UPDATE", "DELETE"):
        name = f"ledger_issuances_no_{event.lower()}"
        if create:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON ledger_issuances BEGIN SELECT "
                "RAISE(ABORT, 'ledger_issuances is append-only: post a reversal'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    op.create_table(
        "ledger_budget_months",
        sa.Column(
            "month",
            sa.Date(),
            nullable=False,
            comment="First day of the calendar month (city time)",
        ),
        sa.Column("budget_points", sa.BigInteger(), nullable=False, comment="Most points issued"),
        sa.Column(
            "issued_points",
            sa.BigInteger(),
            nullable=False,
            comment="Points charged: issued, or released from deferrals",
        ),
        sa.Column(
            "deferred_points",
            sa.BigInteger(),
            nullable=False,
            comment="Points this month could not cover, to issue later",
        ),
        sa.Column(
            "passed_on_points",
            sa.BigInteger(),
            nullable=False,
            comment="Of the deferred points: released or carried on to the next month",
        ),
        sa.Column(
            "scaled_points",
            sa.BigInteger(),
            nullable=False,
            comment="Points not issued: credits scaled down pro rata",
        ),
        sa.Column(
            "warned_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="When the charged points first reached the warning threshold",
        ),
        sa.Column(
            "reached_at",
            app.db.UTCDateTime(timezone=True),
            nullable=True,
            comment="When a credit was first deferred or scaled down",
        ),
        sa.Column("set_by_id", _ID, nullable=True, comment="Who set the budget last"),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "issued_points >= 0 AND issued_points <= budget_points",
            name=op.f("ck_ledger_budget_months_within_budget"),
        ),
        sa.CheckConstraint(
            "deferred_points >= 0 AND passed_on_points >= 0 AND passed_on_points <= "
            "deferred_points AND scaled_points >= 0",
            name=op.f("ck_ledger_budget_months_held_back_adds_up"),
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["users.id"], name=op.f("fk_ledger_budget_months_set_by_id_users")
        ),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_ledger_budget_months")),
        comment="Monthly points budgets and the points charged to each",
    )
    op.create_table(
        "ledger_budget_releases",
        sa.Column("reduction_id", _ID, autoincrement=False, nullable=False),
        sa.Column(
            "month",
            sa.Date(),
            nullable=False,
            comment="The month whose budget they were charged to",
        ),
        sa.Column("transaction_id", _ID, nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False, comment="Points issued"),
        sa.CheckConstraint("points > 0", name=op.f("ck_ledger_budget_releases_points_positive")),
        sa.ForeignKeyConstraint(
            ["reduction_id"],
            ["reductions.id"],
            name=op.f("fk_ledger_budget_releases_reduction_id_reductions"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_budget_releases_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("reduction_id", "month", name=op.f("pk_ledger_budget_releases")),
        sa.UniqueConstraint(
            "transaction_id", name=op.f("uq_ledger_budget_releases_transaction_id")
        ),
        comment="Deferred points issued from a later month's budget; never changed",
    )
    _sqlite_triggers(create=False)
    with op.batch_alter_table("ledger_issuances") as batch:
        batch.add_column(
            sa.Column(
                "budget_points",
                sa.BigInteger(),
                server_default="0",
                nullable=False,
                comment="Points the city's monthly budget could not cover: deferred or scaled away",
            )
        )
        batch.add_column(
            sa.Column(
                "budget_action",
                sa.Enum(
                    "deferred",
                    "scaled",
                    name="issuance_budget_action",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch.drop_constraint(batch.f("ck_ledger_issuances_points_add_up"), type_="check")
        batch.create_check_constraint("points_add_up", _NEW_SUM)
        batch.create_check_constraint(
            "budget_action_named", "(budget_points = 0) = (budget_action IS NULL)"
        )
        batch.create_index(
            "ix_ledger_issuances_deferred",
            ["transaction_id"],
            postgresql_where=sa.text("budget_action = 'deferred'"),
            sqlite_where=sa.text("budget_action = 'deferred'"),
        )
    _sqlite_triggers(create=True)


def downgrade() -> None:
    _sqlite_triggers(create=False)
    with op.batch_alter_table("ledger_issuances") as batch:
        batch.drop_index("ix_ledger_issuances_deferred")
        batch.drop_constraint(batch.f("ck_ledger_issuances_budget_action_named"), type_="check")
        batch.drop_constraint(batch.f("ck_ledger_issuances_points_add_up"), type_="check")
        batch.create_check_constraint("points_add_up", _OLD_SUM)
        batch.drop_column("budget_action")
        batch.drop_column("budget_points")
    _sqlite_triggers(create=True)
    op.drop_table("ledger_budget_releases")
    op.drop_table("ledger_budget_months")
