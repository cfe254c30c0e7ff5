"""Bulk writes: primary keys drawn up front (``next_ids``) and rows copied in (``copy_rows``),
through the backend's adapter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app import adapters
from app.activities.models import DataPartner
from app.adapters.postgresql import copy_types

partners = DataPartner.__table__


def next_ids(conn, table_name, count):
    return adapters.of(conn).next_ids(conn, table_name, count)


def copy_rows(conn, table, columns, rows):
    adapters.of(conn).copy_rows(conn, table, columns, rows)


def test_ids_are_fresh_ascending_and_never_handed_out_twice(session):
    conn = session.connection()
    assert next_ids(conn, DataPartner.__tablename__, 0) == []
    first = next_ids(conn, DataPartner.__tablename__, 3)
    assert first == sorted(set(first)) and len(first) == 3
    conn.execute(
        partners.insert(),
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


def test_copied_rows_read_back_as_written_json_and_null_included(session):
    conn = session.connection()
    ids = next_ids(conn, DataPartner.__tablename__, 2)
    at = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    columns = ("id", "name", "allowed_kinds", "created_at", "created_by_id")
    copy_rows(
        conn,
        partners,
        columns,
        [
            (ids[0], "公交集团", ["bus_ride", "metro_ride"], at, None),
            (ids[1], "单车", [], at, None),
        ],
    )
    rows = conn.execute(
        sa.select(*(partners.c[name] for name in columns))
        .where(partners.c.id.in_(ids))
        .order_by(partners.c.id)
    ).all()
    assert [tuple(row) for row in rows] == [
        (ids[0], "公交集团", ["bus_ride", "metro_ride"], at, None),
        (ids[1], "单车", [], at, None),
    ]


def test_a_column_type_binary_copy_cannot_send_is_named():
    table = sa.Table("prices", sa.MetaData(), sa.Column("amount", sa.Numeric(10, 2)))
    with pytest.raises(TypeError, match=r"prices\.amount"):
        copy_types(table, ["amount"], postgresql.psycopg.dialect())
