"""``Adapter.first``: a hot path's row, which a backend may fetch below SQLAlchemy's execution
layer, holds exactly what SQLAlchemy's own ``first()`` gives, converted and named alike."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from app import adapters
from app.merchants.models import Merchant, Offer
from tests.merchants.support import make_scene

_offers, _merchants = Offer.__table__, Merchant.__table__

#: Columns of every kind the hot paths read: ids, text, JSON, enums, dates, aware timestamps,
#: a bound timestamp and a constant of the statement's own.
_VIEW = (
    sa.select(
        _offers.c.id,
        _offers.c.title,
        _offers.c.config,
        _offers.c.status,
        _offers.c.valid_from,
        _offers.c.edited_at,
        _offers.c.daily_limit,
        _merchants.c.status.label("merchant_status"),
        (_offers.c.points_price + 1).label("price_plus_one"),
        sa.literal("fixed").label("constant"),
    )
    .join(_merchants, _merchants.c.id == _offers.c.merchant_id)
    .where(_offers.c.id == sa.bindparam("offer_id"), _offers.c.created_at < sa.bindparam("now"))
)


def test_a_hot_row_is_the_row_sqlalchemy_reads(session):
    scene = make_scene(session)
    scene.offer.edited_at = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)
    session.flush()
    conn = session.connection()
    params = {"offer_id": scene.offer.id, "now": datetime(2100, 1, 1, tzinfo=UTC)}
    expected = conn.execute(_VIEW, params).first()
    for _ in range(2):  # compiled on first use, reused after
        row = adapters.of(conn).first(conn, _VIEW, params)
        assert tuple(row) == tuple(expected)
        assert [type(value) for value in row] == [type(value) for value in expected]
        assert row._fields == tuple(expected._fields)
        assert row.merchant_status == expected.merchant_status and row.constant == "fixed"
    assert row.edited_at == scene.offer.edited_at and row.edited_at.utcoffset() is not None


def test_no_row_is_none(session):
    conn = session.connection()
    params = {"offer_id": 9_223_372_036_854_775_807, "now": datetime(2100, 1, 1, tzinfo=UTC)}
    assert adapters.of(conn).first(conn, _VIEW, params) is None
