"""Units of accepted batches: serials, splitting, pooled sales with two people, the proceeds
shared back exactly, and the registry's listing and search."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.services import SYSTEM, Actor
from app.errors import DomainError
from app.filings import proceeds, registry, sales, units
from app.filings.models import (
    SaleDistribution,
    SaleShare,
    UnitIssuance,
    UnitRange,
    UnitSale,
    UnitSaleStatus,
    UnitState,
)
from app.ledger import accounts as ledger_accounts
from app.ledger.policy import LedgerPolicy
from app.ledger.reports import reconcile
from tests.factories import make_user
from tests.filings.support import (
    SHANGHAI,
    accept_month,
    count,
    make_version,
    raw_reduction,
    shanghai,
)

T = units.GRAMS_PER_UNIT
INDEPENDENT = sales.Independence(days=0)


def rules(paid_as: str = "points", percent: str = "10") -> proceeds.PayoutRules:
    return proceeds.PayoutRules(
        programme_percent=Decimal(percent), paid_as=paid_as, yuan_per_point=Decimal("0.01"),
        policy=LedgerPolicy(zone=SHANGHAI),
    )  # fmt: skip


@pytest.fixture
def batch(session):
    """7.5 t: resident A 2.5 t, B 3 t, C 2 t, in reduction id order; units 1-7."""
    version = make_version(session)
    residents = [make_user(session) for _ in range(3)]
    for resident, grams in zip(residents, (2_500_000, 3_000_000, 2_000_000), strict=True):
        raw_reduction(session, version, resident, shanghai(2026, 6, 3, 10), grams)
    made = accept_month(session, version, shanghai(2026, 6, 1))
    made.residents = residents
    return made


@pytest.fixture
def bureau(session):
    return [Actor(user.id, user.role) for user in (make_user(session, Role.BUREAU_ADMIN),) * 1] + [
        Actor(make_user(session, Role.BUREAU_ADMIN).id, Role.BUREAU_ADMIN)
    ]


def _ranges(session):
    return [
        (row.first_unit, row.last_unit, row.state.value)
        for row in session.scalars(sa.select(UnitRange).order_by(UnitRange.first_unit))
    ]


def _serial(batch, first, last=None):
    return units.serial(f"YC-BUS-202606-B{batch.id:06d}", first, last)


def _sell(session, actor, batch, *serials, price=8_000):
    return sales.request_sale(
        session, actor, buyer="宁夏某电力公司", price_fen_per_tonne=price,
        sold_on=date(2026, 9, 1), exchange_reference="HBEX-2026-0917", serials=list(serials),
    )  # fmt: skip


def test_an_accepted_batch_issues_one_unit_per_whole_tonne_and_keeps_the_remainder(session, batch):
    issuance = session.get(UnitIssuance, batch.id)
    assert (issuance.units, issuance.remainder_g) == (7, 500_000)
    assert issuance.prefix == f"YC-BUS-202606-B{batch.id:06d}"
    assert _ranges(session) == [(1, 7, "active")]
    assert units.parse(session, _serial(batch, 3)) == units.Span(batch.id, 3, 3)
    assert units.parse(session, _serial(batch, 1, 7).lower()) == units.Span(batch.id, 1, 7)


@pytest.mark.parametrize("text", ["", "abc", "YC-BUS-202606-B000001", "YC-BUS-202606-B000001-0"])
def test_a_malformed_serial_is_refused(session, batch, text):
    with pytest.raises(DomainError) as refused:
        units.parse(session, text)
    assert refused.value.reason == "invalid_serial"


def test_a_serial_past_the_batch_is_refused_and_the_last_unit_is_found(session, batch):
    assert units.parse(session, _serial(batch, 7)).last == 7
    with pytest.raises(DomainError) as refused:
        units.parse(session, _serial(batch, 7, 8))
    assert (refused.value.reason, refused.value.status) == ("exceeds_batch", 409)


def test_a_sale_is_recorded_by_one_and_approved_by_another_splitting_the_range(
    session, batch, bureau
):
    sale = _sell(session, bureau[0], batch, _serial(batch, 2, 3))
    assert sale.status is UnitSaleStatus.REQUESTED and sale.units == 2
    assert _ranges(session) == [(1, 7, "active")]  # nothing sold before the approval
    with pytest.raises(DomainError) as refused:
        sales.decide_sale(session, bureau[0], sale.id, approve=True, independence=INDEPENDENT)
    assert (refused.value.reason, refused.value.status) == ("own_request", 403)
    sales.decide_sale(session, bureau[1], sale.id, approve=True, independence=INDEPENDENT)
    assert _ranges(session) == [(1, 1, "active"), (2, 3, "sold"), (4, 7, "active")]
    assert units.active_units(session) == 5
    with pytest.raises(DomainError) as again:
        sales.decide_sale(session, bureau[1], sale.id, approve=True, independence=INDEPENDENT)
    assert again.value.reason == "already_decided"


def test_a_refused_sale_sells_nothing(session, batch, bureau):
    sale = _sell(session, bureau[0], batch, _serial(batch, 1, 7))
    sales.decide_sale(session, bureau[1], sale.id, approve=False, independence=INDEPENDENT)
    assert sale.status is UnitSaleStatus.REFUSED
    assert _ranges(session) == [(1, 7, "active")]


@pytest.mark.parametrize(
    ("serials", "reason"),
    [
        ([], "invalid_ranges"),
        (["{1-3}", "{3-4}"], "overlapping_ranges"),
        (["{6-8}"], "exceeds_batch"),
        (["nonsense"], "invalid_serial"),
    ],
)
def test_bad_ranges_are_refused_and_nothing_is_written(session, batch, bureau, serials, reason):
    texts = [
        _serial(batch, *map(int, text.strip("{}").split("-"))) if text.startswith("{") else text
        for text in serials
    ]
    with pytest.raises(DomainError) as refused:
        _sell(session, bureau[0], batch, *texts)
    assert refused.value.reason == reason
    assert count(session, UnitSale) == 0 and _ranges(session) == [(1, 7, "active")]


@pytest.mark.parametrize("text", ["0", "-80", "0.001", "abc", "", "NaN"])
def test_a_price_of_zero_or_less_or_past_the_fen_is_refused(text):
    with pytest.raises(DomainError) as refused:
        sales.parse_price(text)
    assert refused.value.field == "price"


@pytest.mark.parametrize(("text", "fen"), [("80", 8_000), ("0.01", 1), ("79.99", 7_999)])
def test_a_price_is_parsed_to_whole_fen(text, fen):
    assert sales.parse_price(text) == fen


def test_units_no_longer_active_cannot_be_sold_and_a_stale_sale_is_not_approved(
    session, batch, bureau
):
    first = _sell(session, bureau[0], batch, _serial(batch, 1, 4))
    stale = _sell(session, bureau[0], batch, _serial(batch, 4, 5))
    sales.decide_sale(session, bureau[1], first.id, approve=True, independence=INDEPENDENT)
    with pytest.raises(DomainError) as refused:
        sales.decide_sale(session, bureau[1], stale.id, approve=True, independence=INDEPENDENT)
    assert refused.value.reason == "units_not_active"
    with pytest.raises(DomainError):
        _sell(session, bureau[0], batch, _serial(batch, 2))
    assert _ranges(session) == [(1, 4, "sold"), (5, 7, "active")]


def test_cancelled_units_are_never_sold(session, batch, bureau):
    units.cancel(session, bureau[0], units.Span(batch.id, 7, 7), "registry correction")
    with pytest.raises(DomainError) as refused:
        _sell(session, bureau[0], batch, _serial(batch, 6, 7))
    assert refused.value.reason == "units_not_active"
    assert _ranges(session) == [(1, 6, "active"), (7, 7, "cancelled")]


def test_each_participant_gets_their_grams_share_in_points_exactly(session, batch, bureau):
    a, b, c = batch.residents
    # A holds grams [0, 2.5 t), B [2.5 t, 5.5 t), C the rest; units 3-5 are [2 t, 5 t).
    sale = _sell(session, bureau[0], batch, _serial(batch, 3, 5), price=8_001)
    sales.decide_sale(session, bureau[1], sale.id, approve=True, independence=INDEPENDENT)
    assert proceeds.contributions(session, sale) == {a.id: 500_000, b.id: 2_500_000}
    run = proceeds.start(session, SYSTEM, sale.id, rules())
    # 3 × 80.01 yuan = 24,003 fen; 90 % is 21,602.7 → 21,602 fen shared, 2,401 kept.
    assert (run.proceeds_fen, run.distributable_fen, run.programme_fen) == (24_003, 21_602, 2_401)
    after = 0
    while after is not None:  # one share at a time, each chunk after the last
        after = proceeds.pay_chunk(session, sale.id, rules(), limit=1, after=after)
    shares = {s.participant_id: s for s in session.scalars(sa.select(SaleShare))}
    # Exact: 21,602 × 1/6 = 3,600.33 and × 5/6 = 18,001.67: the fen left goes to B's .67.
    assert {p: s.fen for p, s in shares.items()} == {a.id: 3_600, b.id: 18_002}
    assert ledger_accounts.balance(session, a.id) == 3_600
    assert ledger_accounts.balance(session, b.id) == 18_002
    assert ledger_accounts.balance(session, c.id) == 0
    assert session.get(SaleDistribution, sale.id).finished_at is not None
    assert reconcile(session).ok
    with pytest.raises(DomainError) as refused:
        proceeds.start(session, SYSTEM, sale.id, rules())
    assert refused.value.reason == "already_distributed"


def test_a_run_that_stopped_resumes_without_paying_anyone_twice(session, batch, bureau):
    sale = _sell(session, bureau[0], batch, _serial(batch, 1, 7))
    sales.decide_sale(session, bureau[1], sale.id, approve=True, independence=INDEPENDENT)
    proceeds.start(session, SYSTEM, sale.id, rules())
    first = proceeds.pay_chunk(session, sale.id, rules(), limit=1)
    assert first == min(r.id for r in batch.residents)
    resumed = proceeds.start(session, SYSTEM, sale.id, rules())  # not finished: the same run
    assert resumed.finished_at is None
    while proceeds.pay_chunk(session, sale.id, rules(), limit=1):
        pass
    paid = sum(ledger_accounts.balance(session, r.id) for r in batch.residents)
    assert paid == session.get(SaleDistribution, sale.id).distributable_fen
    assert reconcile(session).ok


def test_yuan_owed_are_recorded_without_points_and_a_closed_account_is_kept(session, batch, bureau):
    a, b, c = batch.residents
    c.is_active = False
    sale = _sell(session, bureau[0], batch, _serial(batch, 1, 7), price=10_000)
    sales.decide_sale(session, bureau[1], sale.id, approve=True, independence=INDEPENDENT)
    run = proceeds.start(session, SYSTEM, sale.id, rules("yuan", "0"))
    while proceeds.pay_chunk(session, sale.id, rules("yuan", "0"), limit=10):
        pass
    shares = {s.participant_id: s for s in session.scalars(sa.select(SaleShare))}
    # Units 1-7 hold A's 2.5 t, B's 3 t and C's first 1.5 t: 70,000 fen in 25:30:15.
    assert {p: (s.fen, s.points, s.kept, s.paid) for p, s in shares.items()} == {
        a.id: (25_000, None, False, True),
        b.id: (30_000, None, False, True),
        c.id: (15_000, None, True, True),
    }
    assert run.kept_fen == 15_000
    assert sum(ledger_accounts.balance(session, r.id) for r in batch.residents) == 0


def test_only_an_approved_sale_is_distributed(session, batch, bureau):
    sale = _sell(session, bureau[0], batch, _serial(batch, 1))
    with pytest.raises(DomainError) as refused:
        proceeds.start(session, SYSTEM, sale.id, rules())
    assert refused.value.reason == "sale_not_approved"
    assert count(session, SaleShare) == 0


def test_the_registry_lists_ranges_by_state_and_finds_a_units_history(session, batch, bureau):
    sale = _sell(session, bureau[0], batch, _serial(batch, 2, 3))
    sales.decide_sale(session, bureau[1], sale.id, approve=True, independence=INDEPENDENT)
    sold = registry.ranges(session, registry.Filters(state=UnitState.SOLD))
    assert [(r.serial, r.holder, r.units) for r in sold] == [
        (_serial(batch, 2, 3), "宁夏某电力公司", 2)
    ]
    by_holder = registry.ranges(session, registry.Filters(holder="宁夏某电力公司"))
    assert [r.serial for r in by_holder] == [_serial(batch, 2, 3)]
    assert registry.ranges(session, registry.Filters(vintage=date(2026, 5, 1))) == []
    assert len(registry.ranges(session, registry.Filters(methodology="bus"))) == 3
    found = registry.history(session, _serial(batch, 3, 4))
    assert found.batch.root_hash == batch.root_hash
    assert [(p.serial, p.state) for p in found.parts] == [
        (_serial(batch, 2, 3), UnitState.SOLD),
        (_serial(batch, 4, 7), UnitState.ACTIVE),
    ]
    assert registry.totals(session) == {
        UnitState.ACTIVE: 5, UnitState.SOLD: 2, UnitState.RETIRED: 0, UnitState.CANCELLED: 0,
    }  # fmt: skip
