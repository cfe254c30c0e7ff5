"""A confirmation's writes take two statements on PostgreSQL: the burn (with the counter's store,
the token's view and the wallet's lock) and the guarded debit (with the stock, the limits and the
redemption row). The counter's throughput rests on those round trips, and on plans whose work
does not grow with the offer's redemptions; this keeps both in check."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app import context
from app.merchants.services import Staff
from app.redemption import services
from app.redemption.rules import WITHIN_LIMITS
from tests.merchants.support import SHANGHAI, issue, key

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def statements(monkeypatch):
    """Every statement sent through psycopg, SQLAlchemy's and the ledger's own alike."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor, query, *args, **kwargs):
        sent.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    return sent


@pytest.mark.postgres_only
@pytest.mark.parametrize("limits", [{}, {"daily_limit": 3, "monthly_limit": 10}])
def test_a_confirmation_writes_in_two_statements(app, session, scene, statements, limits):
    for name, value in limits.items():
        setattr(scene.offer, name, value)
    session.flush()
    confirm = {
        "store_id": None,
        "now": NOW,
        "key": key(app),
        "zone": SHANGHAI,
        "reward_types": context.of(app).reward_types,
    }
    staff = Staff.of(scene.cashier)
    first = issue(app, session, scene.resident, scene.offer, now=NOW)
    services.confirm(session, staff, first.signed, **confirm)  # opens the clearing account
    second = issue(app, session, scene.resident, scene.offer, now=NOW)
    session.connection()  # the transaction is open
    statements.clear()
    confirmed = services.confirm(session, staff, second.signed, **confirm)
    assert confirmed.redemption.points == 500
    assert len(statements) == 2, statements


@pytest.mark.postgres_only
def test_the_limits_count_reads_one_residents_rows_under_a_generic_plan(session):
    """A prepared statement settles on a generic plan after a few runs; the count of the
    resident's redemptions must then still look up (offer, resident) in the index, not read
    every redemption of the offer, whose number grows with the offer's success."""
    dialect = postgresql.psycopg.dialect(paramstyle="numeric_dollar")
    counted = sa.select(sa.literal(1)).where(WITHIN_LIMITS).compile(dialect=dialect)
    names = list(dict.fromkeys(counted.positiontup))  # $1, $2 … in order
    connection = session.connection().connection.driver_connection
    # A city's month: 20,000 redemptions of 20 offers by 4,000 residents (rows alone, without
    # their parents: the foreign keys' triggers are off for this rolled-back transaction).
    connection.execute("SET LOCAL session_replication_role = replica")
    connection.execute(
        "INSERT INTO redemptions (id, resident_id, offer_id, merchant_id, offer_title, points,"
        " reward_type, fulfilment, ledger_transaction_id, confirmed_by_id, confirmed_at, status,"
        " reversal_reason) SELECT n, 1000 + n % 4000, 1 + n % 20, 1 + n % 5, 'offer', 100,"
        " 'coupon', '{}', n, 1, TIMESTAMPTZ '2026-11-01' + n * INTERVAL '2 minutes',"
        " 'completed', '' FROM generate_series(1, 20000) AS n"
    )
    connection.execute("ANALYZE redemptions")
    connection.execute(f"PREPARE limits AS {counted.string}")
    try:
        connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        values = {
            "holder_id": "1", "offer_id": "1", "day_start": "'2026-11-20T00:00:00Z'",
            "month_start": "'2026-11-01T00:00:00Z'", "resident_daily_limit": "1",
            "resident_monthly_limit": "1",
        }  # fmt: skip
        constants = {
            name: f"'{value}'" for name, value in counted.params.items() if value is not None
        }
        arguments = ", ".join({**constants, **values}[name] for name in names)
        plan = "\n".join(
            row[0] for row in connection.execute(f"EXPLAIN EXECUTE limits({arguments})")
        )
    finally:
        connection.execute("DEALLOCATE limits")
    assert "ix_redemptions_limits" in plan, plan
    condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "offer_id" in condition and "resident_id" in condition, plan
