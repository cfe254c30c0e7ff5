"""Consent to a partner that starts reporting after a link; the link an activity was matched by

- consents.action gains ``declined``: a resident asked about a partner that began reporting their
  kind of identifier after they linked it said no.
- activities.link_id: the link a partner's activity was matched by, so a reviewer's approval
  applies the same consent rule as ingestion (empty for self-reports and older rows).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACTIONS = ("granted", "withdrawn")


def _actions(values: Sequence[str]) -> str:
    return "action IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_constraint(batch.f("ck_consents_consent_action"), type_="check")
        batch.create_check_constraint("consent_action", _actions((*_ACTIONS, "declined")))
    with op.batch_alter_table("activities") as batch:
        batch.add_column(
            sa.Column(
                "link_id",
                _ID,
                nullable=True,
                comment="The link a partner's activity was matched by, whose consent it needs",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("link_id")
    # A refusal was not recordable before: it reads as a withdrawal of nothing, so it goes.
    op.execute("DELETE FROM consents WHERE action = 'declined'")
    with op.batch_alter_table("consents") as batch:
        batch.drop_constraint(batch.f("ck_consents_consent_action"), type_="check")
        batch.create_check_constraint("consent_action", _actions(_ACTIONS))
