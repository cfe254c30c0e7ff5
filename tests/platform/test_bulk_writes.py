"""Primary keys drawn up front for bulk writes (``app.db.next_ids``)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.activities.models import DataPartner
from app.db import next_ids


def test_ids_are_fresh_ascending_and_never_handed_out_twice(session):
    conn = session.connection()
    assert next_ids(conn, DataPartner.__tablename__, 0) == []
    first = next_ids(conn, DataPartner.__tablename__, 3)
    assert first == sorted(set(first)) and len(first) == 3
    conn.execute(
        DataPartner.__table__.insert(),
        {
            "id": first[-1],
            "name": "ids test partner",
            "allowed_kinds": ["bus_ride"],
            "created_at": datetime(2026, 12, 1, tzinfo=UTC),
        },
    )
    second = next_ids(conn, DataPartner.__tablename__, 2)
    assert len(second) == 2 and second == sorted(second)
    assert min(second) > first[-1]
