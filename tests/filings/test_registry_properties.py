"""Properties (hypothesis, derandomized, bounded): shares of proceeds sum exactly and each is
within one fen of its exact proportion; however units are sold, retired and cancelled, the
ranges of a batch never overlap and cover every unit once."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.audit.services import SYSTEM
from app.errors import DomainError
from app.filings import units
from app.filings.models import OffsetClaim, UnitIssuance, UnitRange, UnitSale, UnitState
from app.filings.proceeds import largest_remainder
from tests.factories import make_user
from tests.filings.support import (
    accept_month,
    make_version,
    raw_reduction,
    shanghai,
    verified_organisation,
)

PROPERTY = settings(
    max_examples=80,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(
    total=st.integers(min_value=0, max_value=10**13),
    weights=st.dictionaries(
        st.integers(min_value=1, max_value=10**6),
        st.integers(min_value=1, max_value=10**10),
        min_size=1,
        max_size=60,
    ),
)
def test_shares_sum_exactly_and_each_is_within_one_fen_of_its_proportion(total, weights):
    shares = largest_remainder(total, weights)
    grand = sum(weights.values())
    assert sum(shares.values()) == total
    for key, weight in weights.items():
        assert abs(shares[key] - Fraction(total * weight, grand)) < 1


def test_ties_go_to_more_grams_then_the_lower_participant():
    # 10 fen in thirds: 3.33 each, one fen left; equal remainders, so more grams, then lower id.
    assert largest_remainder(10, {5: 1, 4: 1, 9: 1}) == {4: 4, 5: 3, 9: 3}
    assert largest_remainder(3, {1: 1, 2: 2}) == {1: 1, 2: 2}
    assert largest_remainder(7, {1: 0}) == {1: 0}


@pytest.fixture
def issued(session):
    version = make_version(session)
    raw_reduction(session, version, make_user(session), shanghai(2026, 6, 3, 10), 40_300_000)
    return session.get(UnitIssuance, accept_month(session, version, shanghai(2026, 6, 1)).id)


_STATES = st.sampled_from([UnitState.SOLD, UnitState.RETIRED, UnitState.CANCELLED])


@PROPERTY
@given(
    operations=st.lists(
        st.tuples(st.integers(1, 40), st.integers(0, 6), _STATES), min_size=1, max_size=12
    )
)
def test_ranges_never_overlap_and_cover_the_batch(session, issued, operations):
    savepoint = session.begin_nested()
    try:
        expected = dict.fromkeys(range(1, issued.units + 1), UnitState.ACTIVE)
        sale_id = claim_id = None
        for first, extra, state in operations:
            span = units.Span(issued.batch_id, first, min(first + extra, issued.units))
            free = all(expected[n] is UnitState.ACTIVE for n in range(span.first, span.last + 1))
            try:
                if state is UnitState.CANCELLED:
                    units.cancel(session, SYSTEM, span, "correction")
                else:
                    sale_id, claim_id = _owner(session, state, sale_id, claim_id)
                    units.take(
                        session, span, state,
                        sale_id=sale_id if state is UnitState.SOLD else None,
                        claim_id=claim_id if state is UnitState.RETIRED else None,
                    )  # fmt: skip
            except DomainError as refused:
                assert not free and refused.reason == "units_not_active"
                continue
            assert free
            expected.update(dict.fromkeys(range(span.first, span.last + 1), state))
        rows = session.scalars(
            sa.select(UnitRange)
            .where(UnitRange.batch_id == issued.batch_id)
            .order_by(UnitRange.first_unit)
        ).all()
        seen = {}
        for row in rows:
            for n in range(row.first_unit, row.last_unit + 1):
                assert n not in seen  # no unit in two ranges
                seen[n] = row.state
        assert seen == expected  # every unit in exactly one range, in its one state
    finally:
        savepoint.rollback()


def _owner(session, state, sale_id, claim_id):
    """A sale and a claim to name (made once per example)."""
    if sale_id is None:
        person = make_user(session)
        sale = UnitSale(
            buyer="b", price_fen_per_tonne=1, sold_on=date(2026, 7, 1), exchange_reference="r",
            ranges=[], units=1, requested_by_id=person.id,
        )  # fmt: skip
        org = verified_organisation(session)
        claim = OffsetClaim(
            organisation_id=org.id, event_name="e", event_date=date(2026, 7, 1),
            claimed_g=1_000_000, claimed_by_id=person.id, beneficiary="b",
        )  # fmt: skip
        session.add_all([sale, claim])
        session.flush()
        return sale.id, claim.id
    return sale_id, claim_id
