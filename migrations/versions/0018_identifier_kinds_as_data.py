"""Identifier kinds are data declared by methodologies: no enum, no CHECK constraint

A methodology declares the identifier kind naming its participant, and the platform checks the
declarations when it starts, so installing a methodology with a new identifier kind needs no
migration. The downgrade restores the CHECK with the six kinds the built-ins declared; it fails if
a row holds another kind.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KIND_COMMENT = "The identifier kind's code, as a methodology declares it (checked at start-up)"
_OLD_KINDS = (
    "transit_card",
    "bike_account",
    "electricity_meter",
    "gas_meter",
    "recycling_card",
    "step_account",
)


def upgrade() -> None:
    with op.batch_alter_table("linked_identifiers") as batch:
        batch.drop_constraint(batch.f("ck_linked_identifiers_identifier_kind"), type_="check")
        batch.alter_column(
            "identifier_kind",
            existing_type=sa.String(length=32),
            type_=sa.String(length=40),
            existing_nullable=False,
            comment=_KIND_COMMENT,
        )
    with op.batch_alter_table("data_partners") as batch:
        batch.alter_column(
            "allowed_kinds",
            existing_type=sa.JSON(),
            existing_nullable=False,
            comment="Activity kind codes this partner may send (declared by methodologies)",
            existing_comment='Activity kinds this partner may send, e.g. ["bus_ride"]',
        )
    with op.batch_alter_table("activities") as batch:
        batch.alter_column(
            "kind",
            existing_type=sa.String(length=64),
            existing_nullable=False,
            comment="Activity kind code, as its methodology declares it",
            existing_comment="Activity kind, e.g. bus_ride",
        )


def downgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.alter_column(
            "kind",
            existing_type=sa.String(length=64),
            existing_nullable=False,
            comment="Activity kind, e.g. bus_ride",
            existing_comment="Activity kind code, as its methodology declares it",
        )
    with op.batch_alter_table("data_partners") as batch:
        batch.alter_column(
            "allowed_kinds",
            existing_type=sa.JSON(),
            existing_nullable=False,
            comment='Activity kinds this partner may send, e.g. ["bus_ride"]',
            existing_comment="Activity kind codes this partner may send (declared by methodologies)",
        )
    with op.batch_alter_table("linked_identifiers") as batch:
        batch.alter_column(
            "identifier_kind",
            existing_type=sa.String(length=40),
            type_=sa.String(length=32),
            existing_nullable=False,
            comment=None,
            existing_comment=_KIND_COMMENT,
        )
        batch.create_check_constraint(
            batch.f("ck_linked_identifiers_identifier_kind"),
            sa.column("identifier_kind").in_(_OLD_KINDS),
        )
