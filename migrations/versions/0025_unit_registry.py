"""unit registry: serial-numbered units, retirements with purpose, pooled sales and proceeds

An accepted batch's whole tonnes become serial-numbered units (unit_issuances, unit_ranges); a
retirement (an approved offset claim) names its beneficiary and purpose and the ranges it
consumed, replacing the grams-per-batch allocations, which are converted here; pooled sales,
the shares of their proceeds, and donations of reductions to events are new.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 19:30:00.000000
"""

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRAMS_PER_UNIT = 1_000_000


def upgrade() -> None:
    op.create_table(
        "sale_shares",
        sa.Column(
            "sale_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="unit_sales.id",
        ),
        sa.Column(
            "participant_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="users.id",
        ),
        sa.Column(
            "grams", sa.BigInteger(), nullable=False, comment="Their grams in the sold units"
        ),
        sa.Column("fen", sa.BigInteger(), nullable=False, comment="Their share, exact in fen"),
        sa.Column("points", sa.BigInteger(), nullable=True, comment="Points paid, if any"),
        sa.Column(
            "kept", sa.Boolean(), nullable=False, comment="Account closed: kept for the programme"
        ),
        sa.Column(
            "paid", sa.Boolean(), nullable=False, comment="Points posted or yuan owed recorded"
        ),
        sa.PrimaryKeyConstraint("sale_id", "participant_id", name=op.f("pk_sale_shares")),
        comment="Each participant's share of a sale's proceeds",
    )
    with op.batch_alter_table("sale_shares", schema=None) as batch_op:
        batch_op.create_index("ix_sale_shares_participant", ["participant_id"], unique=False)

    op.create_table(
        "unit_sales",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "approved",
                "refused",
                name="unit_sale_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("buyer", sa.String(length=128), nullable=False),
        sa.Column("price_fen_per_tonne", sa.BigInteger(), nullable=False, comment="Fen per unit"),
        sa.Column("sold_on", sa.Date(), nullable=False, comment="Local date of the trade"),
        sa.Column("exchange_reference", sa.String(length=128), nullable=False),
        sa.Column(
            "ranges",
            sa.JSON(),
            nullable=False,
            comment="The serial ranges sold: [[batch id, first unit, last unit], …]",
        ),
        sa.Column("units", sa.BigInteger(), nullable=False, comment="Units sold"),
        sa.Column(
            "requested_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.Column(
            "decided_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("decided_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> requested_by_id",
            name=op.f("ck_unit_sales_two_people"),
        ),
        sa.CheckConstraint("price_fen_per_tonne > 0", name=op.f("ck_unit_sales_price_positive")),
        sa.CheckConstraint("units > 0", name=op.f("ck_unit_sales_sells_something")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_unit_sales_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_unit_sales_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_sales")),
        comment="Pooled sales of units on an exchange",
    )
    with op.batch_alter_table("unit_sales", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_sales_status"), ["status"], unique=False)

    op.create_table(
        "sale_distributions",
        sa.Column("sale_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("proceeds_fen", sa.BigInteger(), nullable=False, comment="Units × price"),
        sa.Column(
            "programme_fen", sa.BigInteger(), nullable=False, comment="The programme's share"
        ),
        sa.Column("distributable_fen", sa.BigInteger(), nullable=False, comment="Shared to people"),
        sa.Column(
            "kept_fen",
            sa.BigInteger(),
            nullable=False,
            comment="Shares of closed accounts, kept for the programme",
        ),
        sa.Column(
            "contributed_g", sa.BigInteger(), nullable=False, comment="Grams in the sold units"
        ),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("paid_as", sa.String(length=8), nullable=False, comment="points or yuan"),
        sa.Column("finished_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "started_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["unit_sales.id"], name=op.f("fk_sale_distributions_sale_id_unit_sales")
        ),
        sa.PrimaryKeyConstraint("sale_id", name=op.f("pk_sale_distributions")),
        comment="Proceeds of a sale shared back to participants",
    )
    op.create_table(
        "unit_issuances",
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "prefix",
            sa.String(length=96),
            nullable=False,
            comment="<city>-<methodology>-<yyyymm>-B<batch id>",
        ),
        sa.Column("units", sa.BigInteger(), nullable=False, comment="Whole tonnes CO2e issued"),
        sa.Column(
            "remainder_g", sa.Integer(), nullable=False, comment="Grams below the last whole tonne"
        ),
        sa.Column(
            "issued_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.CheckConstraint(
            "units >= 0 AND remainder_g >= 0 AND remainder_g < 1000000",
            name=op.f("ck_unit_issuances_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["filing_batches.id"],
            name=op.f("fk_unit_issuances_batch_id_filing_batches"),
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_unit_issuances")),
        sa.UniqueConstraint("prefix", name=op.f("uq_unit_issuances_prefix")),
        comment="Serial-numbered units of accepted filing batches",
    )
    op.create_table(
        "unit_ranges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_unit", sa.BigInteger(), nullable=False),
        sa.Column("last_unit", sa.BigInteger(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "active",
                "sold",
                "retired",
                "cancelled",
                name="unit_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "claim_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="The retirement",
        ),
        sa.Column(
            "sale_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
            comment="The sale",
        ),
        sa.Column("note", sa.String(length=256), nullable=True, comment="Why units were cancelled"),
        sa.Column(
            "changed_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When it took this state",
        ),
        sa.CheckConstraint(
            "(state = 'retired') = (claim_id IS NOT NULL)",
            name=op.f("ck_unit_ranges_retired_names_claim"),
        ),
        sa.CheckConstraint(
            "(state = 'sold') = (sale_id IS NOT NULL)", name=op.f("ck_unit_ranges_sold_names_sale")
        ),
        sa.CheckConstraint(
            "first_unit >= 1 AND last_unit >= first_unit",
            name=op.f("ck_unit_ranges_range_not_empty"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["unit_issuances.batch_id"],
            name=op.f("fk_unit_ranges_batch_id_unit_issuances"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["offset_claims.id"], name=op.f("fk_unit_ranges_claim_id_offset_claims")
        ),
        sa.ForeignKeyConstraint(
            ["sale_id"], ["unit_sales.id"], name=op.f("fk_unit_ranges_sale_id_unit_sales")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_ranges")),
        comment="Serial ranges of units and their state",
    )
    with op.batch_alter_table("unit_ranges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_ranges_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_ranges_sale_id"), ["sale_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_ranges_state"), ["state"], unique=False)
        batch_op.create_index("ux_unit_ranges_batch_first", ["batch_id", "first_unit"], unique=True)

    with op.batch_alter_table("offset_claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "beneficiary",
                sa.String(length=128),
                nullable=False,
                server_default="-",
                comment="On whose behalf the tonnes are retired, as the certificate says",
            )
        )
        batch_op.add_column(
            sa.Column(
                "purpose",
                sa.Enum(
                    "compliance_offset",
                    "event_neutrality",
                    "voluntary_cancellation",
                    name="retirement_purpose",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="event_neutrality",
                comment="Why the tonnes are retired",
            )
        )
    op.execute(
        "UPDATE offset_claims SET beneficiary = (SELECT name FROM organisations "
        "WHERE organisations.id = offset_claims.organisation_id)"
    )
    with op.batch_alter_table("offset_claims", schema=None) as batch_op:
        batch_op.alter_column(
            "beneficiary", server_default=None, existing_type=sa.String(length=128)
        )
        batch_op.alter_column("purpose", server_default=None, existing_type=sa.String(length=32))
        batch_op.create_check_constraint("names_a_beneficiary", "length(beneficiary) > 0")

    op.create_table(
        "donations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "claim_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            comment="The event",
        ),
        sa.Column("donor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("donated_g", sa.BigInteger(), nullable=False, comment="Grams CO2e given"),
        sa.Column(
            "created_at",
            app.db.UTCDateTime(timezone=True),
            nullable=False,
            comment="When the row was created (UTC)",
        ),
        sa.CheckConstraint("donated_g > 0", name=op.f("ck_donations_gives_something")),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["offset_claims.id"], name=op.f("fk_donations_claim_id_offset_claims")
        ),
        sa.ForeignKeyConstraint(
            ["donor_id"], ["users.id"], name=op.f("fk_donations_donor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donations")),
        comment="Reductions given by participants to carbon-neutral events",
    )
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_donations_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_donations_donor_id"), ["donor_id"], unique=False)

    op.create_table(
        "donated_reductions",
        sa.Column(
            "reduction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "donation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["donation_id"],
            ["donations.id"],
            name=op.f("fk_donated_reductions_donation_id_donations"),
        ),
        sa.ForeignKeyConstraint(
            ["reduction_id"],
            ["reductions.id"],
            name=op.f("fk_donated_reductions_reduction_id_reductions"),
        ),
        sa.PrimaryKeyConstraint("reduction_id", name=op.f("pk_donated_reductions")),
        comment="The reductions each donation gave",
    )
    with op.batch_alter_table("donated_reductions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_donated_reductions_donation_id"), ["donation_id"], unique=False
        )

    _issue_accepted_batches(op.get_bind())

    with op.batch_alter_table("offset_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offset_allocations_batch_id"))

    op.drop_table("offset_allocations")


def _issue_accepted_batches(bind: sa.Connection) -> None:
    """Batches accepted before units existed get theirs now; each approved claim's grams from a
    batch become its retired units there (rounded up to whole units), the rest stay active."""
    city = os.environ.get("UNIT_CITY_CODE", "YC")
    now = datetime.now(UTC)
    batches = bind.execute(
        sa.text(
            "SELECT id, methodology_code, period_start, total_g FROM filing_batches "
            "WHERE status = 'accepted' ORDER BY id"
        )
    ).all()
    for batch_id, code, period_start, total_g in batches:
        units, remainder = divmod(int(total_g), GRAMS_PER_UNIT)
        methodology = re.sub(r"[^A-Z0-9]+", "_", code.upper()).strip("_")
        vintage = str(period_start)[:7].replace("-", "")
        bind.execute(
            sa.text(
                "INSERT INTO unit_issuances (batch_id, prefix, units, remainder_g, issued_at) "
                "VALUES (:b, :p, :u, :r, :t)"
            ),
            {
                "b": batch_id,
                "p": f"{city}-{methodology}-{vintage}-B{batch_id:06d}",
                "u": units,
                "r": remainder,
                "t": now,
            },
        )
        first = 1
        for claim_id, retired_g in bind.execute(
            sa.text(
                "SELECT claim_id, retired_g FROM offset_allocations WHERE batch_id = :b "
                "ORDER BY claim_id"
            ),
            {"b": batch_id},
        ).all():
            count = min(-(-int(retired_g) // GRAMS_PER_UNIT), units - first + 1)
            if count > 0:
                _range(bind, batch_id, first, first + count - 1, "retired", claim_id, now)
                first += count
        if first <= units:
            _range(bind, batch_id, first, units, "active", None, now)


def _range(
    bind: sa.Connection,
    batch_id: int,
    first: int,
    last: int,
    state: str,
    claim_id: int | None,
    now: datetime,
) -> None:
    bind.execute(
        sa.text(
            "INSERT INTO unit_ranges (batch_id, first_unit, last_unit, state, claim_id, "
            "changed_at) VALUES (:b, :f, :l, :s, :c, :t)"
        ),
        {"b": batch_id, "f": first, "l": last, "s": state, "c": claim_id, "t": now},
    )


def downgrade() -> None:
    with op.batch_alter_table("donated_reductions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_donated_reductions_donation_id"))
    op.drop_table("donated_reductions")
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_donations_donor_id"))
        batch_op.drop_index(batch_op.f("ix_donations_claim_id"))
    op.drop_table("donations")
    with op.batch_alter_table("offset_claims", schema=None) as batch_op:
        batch_op.drop_constraint("ck_offset_claims_names_a_beneficiary", type_="check")
        batch_op.drop_column("purpose")
        batch_op.drop_column("beneficiary")

    op.create_table(
        "offset_allocations",
        sa.Column("claim_id", sa.INTEGER(), nullable=False),
        sa.Column("batch_id", sa.INTEGER(), nullable=False),
        sa.Column("retired_g", sa.BIGINT(), nullable=False),
        sa.CheckConstraint("retired_g > 0", name=op.f("ck_offset_allocations_retires_something")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["filing_batches.id"],
            name=op.f("fk_offset_allocations_batch_id_filing_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["offset_claims.id"],
            name=op.f("fk_offset_allocations_claim_id_offset_claims"),
        ),
        sa.PrimaryKeyConstraint("claim_id", "batch_id", name=op.f("pk_offset_allocations")),
    )
    with op.batch_alter_table("offset_allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offset_allocations_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("unit_ranges", schema=None) as batch_op:
        batch_op.drop_index("ux_unit_ranges_batch_first")
        batch_op.drop_index(batch_op.f("ix_unit_ranges_state"))
        batch_op.drop_index(batch_op.f("ix_unit_ranges_sale_id"))
        batch_op.drop_index(batch_op.f("ix_unit_ranges_claim_id"))

    op.drop_table("unit_ranges")
    op.drop_table("unit_issuances")
    op.drop_table("sale_distributions")
    with op.batch_alter_table("unit_sales", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_sales_status"))

    op.drop_table("unit_sales")
    with op.batch_alter_table("sale_shares", schema=None) as batch_op:
        batch_op.drop_index("ix_sale_shares_participant")

    op.drop_table("sale_shares")
