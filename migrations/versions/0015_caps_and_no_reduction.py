"""Outcomes: grams credited after a methodology's caps, and "no reduction" as an activity status

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = ("held", "verified", "flagged", "rejected", "expired")
_CREDITED = (
    "Grams credited (points are issued for these) after the methodology's daily and monthly caps; "
    "empty until credited, and for reductions older than the caps: all of them"
)
_CAP = (
    "The methodology's cap that held back reduction_g - credited_g: "
    "methodology_daily or methodology_monthly"
)
_FINGERPRINT = "Participant + kind + time bucket + quantities of a credited non-trip activity"
_OLD_FINGERPRINT = "Participant + kind + time bucket + key quantities, set while credited"


def _statuses(values: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("reductions") as batch:
        batch.add_column(sa.Column("credited_g", sa.BigInteger(), nullable=True, comment=_CREDITED))
        batch.add_column(sa.Column("cap", sa.String(length=32), nullable=True, comment=_CAP))
        batch.create_check_constraint(
            "credited_within_reduction",
            "credited_g IS NULL OR (credited_g >= 0 AND credited_g <= reduction_g)",
        )
        batch.create_check_constraint(
            "cap_known", "cap IS NULL OR cap IN ('methodology_daily', 'methodology_monthly')"
        )
    with op.batch_alter_table("activities") as batch:
        batch.drop_constraint(batch.f("ck_activities_activity_status"), type_="check")
        batch.create_check_constraint("activity_status", _statuses((*_STATUSES, "no_reduction")))
        batch.alter_column(
            "credit_fingerprint",
            existing_type=sa.String(length=64),
            comment=_FINGERPRINT,
            existing_comment=_OLD_FINGERPRINT,
        )


def downgrade() -> None:
    # An activity that earned nothing was a rejection before this status existed.
    op.execute("UPDATE activities SET status = 'rejected' WHERE status = 'no_reduction'")
    with op.batch_alter_table("activities") as batch:
        batch.drop_constraint(batch.f("ck_activities_activity_status"), type_="check")
        batch.create_check_constraint("activity_status", _statuses(_STATUSES))
        batch.alter_column(
            "credit_fingerprint",
            existing_type=sa.String(length=64),
            comment=_OLD_FINGERPRINT,
            existing_comment=_FINGERPRINT,
        )
    with op.batch_alter_table("reductions") as batch:
        batch.drop_constraint(batch.f("ck_reductions_cap_known"), type_="check")
        batch.drop_constraint(batch.f("ck_reductions_credited_within_reduction"), type_="check")
        batch.drop_column("cap")
        batch.drop_column("credited_g")
