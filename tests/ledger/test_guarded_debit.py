"""A guarded redemption debit: the caller's condition and writes share the debit's statement."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.ledger import services as ledger
from app.reductions.issuance import issue_points_for
from tests.factories import make_user
from tests.ledger.support import (
    entry_sum,
    make_merchant,
    make_reduction,
    policy,
    transaction_count,
    wallet_balance,
)

_metadata = sa.MetaData()
guard_passes = sa.Table(
    "guard_passes",
    _metadata,
    sa.Column("passes", sa.Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
guard_records = sa.Table(
    "guard_records",
    _metadata,
    sa.Column("transaction_id", sa.BigInteger),
    sa.Column("note", sa.Text),
    prefixes=["TEMPORARY"],
)

#: The guard counts its passes in a table of the test's own, and its record notes the debit's
#: transaction there: what a redemption's stock and row are in the real statement.
GUARD = ledger.Guard(
    guard_passes.update()
    .where(sa.cast(sa.bindparam("allow"), sa.Boolean))
    .values(passes=guard_passes.c.passes + 1)
    .returning(guard_passes.c.passes),
    guard_records,
    ("note",),
    "transaction_id",
)


@pytest.fixture
def tables(session):
    conn = session.connection()
    _metadata.create_all(conn)
    conn.execute(guard_passes.insert().values(passes=0))


@pytest.fixture
def resident(session, version):
    resident = make_user(session)
    issue_points_for(
        session, [make_reduction(session, resident.id, 300, version=version).id], policy=policy()
    )
    return resident


def guarded(session, resident, merchant, *, allow, key="g-1"):
    return ledger.redeem(
        session,
        holder_id=resident.id,
        merchant_id=merchant.id,
        points=100,
        idempotency_key=key,
        reference_id=9,
        memo="停车",
        guard=GUARD,
        guard_params={"allow": allow},
        record={"note": "记下"},
    )


def passes(session):
    return session.scalar(sa.select(guard_passes.c.passes))


def records(session):
    return [tuple(row) for row in session.execute(sa.select(guard_records))]


def test_a_passing_guard_posts_the_debit_and_the_writes_after_it(session, tables, resident):
    merchant = make_merchant(session)
    before = transaction_count(session)
    posted = guarded(session, resident, merchant, allow=True)
    assert posted is not None and posted.balance == 200
    assert wallet_balance(session, resident.id) == 200 == entry_sum(session, resident.id)
    assert transaction_count(session) == before + 1
    assert records(session) == [(posted.transaction_id, "记下")]
    # The merchant had no clearing account: it was opened and the statement ran again, but the
    # guard, which requires the account, passed once.
    assert passes(session) == 1


def test_a_guard_that_yields_nothing_writes_nothing(session, tables, resident):
    merchant = make_merchant(session)
    ledger.redeem(
        session, holder_id=resident.id, merchant_id=merchant.id, points=1, idempotency_key="open"
    )
    before = transaction_count(session)
    assert guarded(session, resident, merchant, allow=False) is None
    assert transaction_count(session) == before
    assert wallet_balance(session, resident.id) == 299 == entry_sum(session, resident.id)
    assert records(session) == [] and passes(session) == 0


def test_a_guarded_debit_whose_key_was_used_keeps_nothing(session, tables, resident):
    merchant = make_merchant(session)
    assert guarded(session, resident, merchant, allow=True) is not None
    # The guard's writes would stand without a debit of their own: that is never returned.
    with pytest.raises(RuntimeError, match="used before"):
        guarded(session, resident, merchant, allow=True)
