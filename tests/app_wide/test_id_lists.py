"""``any_of`` on whole numbers: PostgreSQL reads the id list once per statement, not per row.

Bound as text and cast (``CAST($1::varchar AS bigint[])``), the list stays an expression that a
sequential scan evaluates for every row it filters: with statistics that still say a table is
small, issuing points for a batch of 5,000 reductions parsed the 5,000 ids 5,000 times (seconds).
Bound untyped, the list is one ``bigint[]`` constant in the plan.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import adapters
from app.reductions.models import Reduction

_reductions = Reduction.__table__


def _plan(conn: sa.Connection, statement: sa.Select) -> str:
    compiled = statement.compile(dialect=conn.dialect)
    rows = conn.exec_driver_sql(f"EXPLAIN (VERBOSE) {compiled}", compiled.params)
    return "\n".join(row[0] for row in rows)


@pytest.mark.postgres_only
@pytest.mark.parametrize("count", [1, 5_000])
def test_an_id_list_is_one_constant_in_the_plan(session, count):
    conn = session.connection()
    ids = range(1, count + 1)
    plan = _plan(
        conn, sa.select(_reductions.c.id).where(adapters.of(conn).any_of(_reductions.c.id, ids))
    )
    assert "::cstring" not in plan and "::character varying" not in plan, plan
    assert "'{1" in plan and "}'::bigint[]" in plan, plan
