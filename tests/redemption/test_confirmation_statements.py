"""A confirmation's writes take two statements on PostgreSQL: the burn (with the counter's store,
the token's view and the wallet's lock) and the guarded debit (with the stock, the limits and the
redemption row). The counter's throughput rests on those round trips; this keeps them counted."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from app import context
from app.merchants.services import Staff
from app.redemption import services
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
