"""The monthly points budget: issuance never goes beyond it, and the rest is deferred (issued
first from the next months' budgets) or scaled away, on the issuance row for the resident."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.errors import DomainError
from app.ledger import budget
from app.ledger import services as ledger
from app.ledger.models import BudgetAction, BudgetMonth, BudgetRelease, Issuance, Transaction
from app.ledger.policy import BudgetPolicy
from app.reductions.issuance import issue_points_for
from tests.factories import make_user
from tests.ledger.support import entry_sum, make_reduction, policy, wallet_balance

DECEMBER = datetime(2026, 12, 10, 4, tzinfo=UTC)  # 12:00 in Shanghai
JANUARY = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)  # 08:30 on 1 January in Shanghai
FEBRUARY = datetime(2027, 2, 1, 0, 30, tzinfo=UTC)


def defer(**changes: object):
    return replace(policy(), budget_policy=BudgetPolicy.DEFER, **changes)


def scale(**changes: object):
    return replace(policy(), budget_policy=BudgetPolicy.SCALE, **changes)


def set_budget(session, month: str, points: int, *, now=DECEMBER, rules=None) -> BudgetMonth:
    return budget.set_budget(
        session, SYSTEM, month=month, points=points, policy=rules or defer(), now=now
    )


def earn(session, version, grams: list[tuple[int, int]], *, rules, now):
    """Issue a batch: (participant, grams) per reduction."""
    reductions = [make_reduction(session, who, g, version=version) for who, g in grams]
    return issue_points_for(session, [r.id for r in reductions], policy=rules, now=now)


def month_row(session, month: date) -> BudgetMonth:
    session.expire_all()
    return session.get(BudgetMonth, month)


# -- the arithmetic ------------------------------------------------------------------------------


@given(
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=40),
    fraction=st.fractions(min_value=0, max_value=1),
)
def test_shares_are_whole_points_that_add_up_exactly_and_stay_within_a_point(weights, fraction):
    total = int(sum(weights) * fraction)
    shares = budget.split(total, weights)
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        assert isinstance(share, int) and 0 <= share <= weight
        if sum(weights):
            exact = Fraction(total * weight, sum(weights))
            assert abs(share - exact) < 1


@given(
    asked=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30),
    room=st.integers(min_value=0, max_value=10**8),
    deferring=st.booleans(),
)
def test_what_is_held_back_and_what_is_issued_make_what_was_asked(asked, room, deferring):
    rules = defer() if deferring else scale()
    granted = min(room, sum(asked))
    held, action = budget.held_back(asked, budget.Reservation(room, 0, granted), rules)
    assert sum(asked) - sum(held) == granted
    assert all(0 <= kept <= points for kept, points in zip(held, asked, strict=True))
    if granted == sum(asked):
        assert action is None and not any(held)
    else:
        assert action == (BudgetAction.DEFERRED if deferring else BudgetAction.SCALED)


def test_the_split_breaks_ties_for_the_earliest_line():
    assert budget.split(2, [1, 1, 1]) == [1, 1, 0]
    assert budget.split(5, [3, 3, 4]) == [2, 1, 2]
    assert budget.split(0, [5, 5]) == [0, 0] and budget.split(10, [5, 5]) == [5, 5]
    with pytest.raises(ValueError):
        budget.split(11, [5, 5])


# -- issuing against a budget --------------------------------------------------------------------


def test_without_a_budget_issuance_is_unchanged(session, version):
    alice = make_user(session)
    result = earn(session, version, [(alice.id, 500)], rules=defer(), now=DECEMBER)
    assert result.issued_points == 500 and result.budget_points == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(BudgetMonth)) == 0


@pytest.mark.parametrize(("grams", "held"), [(1_000, 0), (1_001, 1)])
def test_a_batch_exactly_at_the_budget_is_issued_whole_and_one_point_more_is_not(
    session, version, grams, held
):
    alice = make_user(session)
    set_budget(session, "2026-12", 1_000)
    result = earn(session, version, [(alice.id, grams)], rules=defer(), now=DECEMBER)
    assert (result.issued_points, result.budget_points) == (1_000, held)
    row = month_row(session, date(2026, 12, 1))
    assert (row.issued_points, row.deferred_points) == (1_000, held)
    assert (row.reached_at is not None) == bool(held)


def test_deferring_shares_the_last_room_pro_rata_and_records_why(session, version):
    alice, bob = make_user(session), make_user(session)
    set_budget(session, "2026-12", 1_000)
    earn(session, version, [(alice.id, 700)], rules=defer(), now=DECEMBER)
    result = earn(session, version, [(alice.id, 300), (bob.id, 100)], rules=defer(), now=DECEMBER)
    # 300 left for 400 asked: 225 and 75, exactly; 75 and 25 deferred.
    assert [(line.issued_points, line.budget_points) for line in result.lines] == [
        (225, 75),
        (75, 25),
    ]
    assert {line.budget_action for line in result.lines} == {BudgetAction.DEFERRED}
    issuance = session.get(Issuance, result.lines[0].reduction_id)
    assert (issuance.requested_points, issuance.issued_points, issuance.budget_points) == (
        300,
        225,
        75,
    )
    assert issuance.budget_action == BudgetAction.DEFERRED
    later = earn(session, version, [(bob.id, 50)], rules=defer(), now=DECEMBER)
    assert (later.issued_points, later.budget_points) == (0, 50)
    row = month_row(session, date(2026, 12, 1))
    assert (row.budget_points, row.issued_points, row.deferred_points) == (1_000, 1_000, 150)
    assert wallet_balance(session, alice.id) == 925 == entry_sum(session, alice.id)
    assert wallet_balance(session, bob.id) == 75
    assert ledger.reconcile(session).ok


def test_scaling_cuts_the_month_s_last_credits_and_nothing_is_owed(session, version):
    alice, bob = make_user(session), make_user(session)
    set_budget(session, "2026-12", 100, rules=scale())
    result = earn(session, version, [(alice.id, 90), (bob.id, 30)], rules=scale(), now=DECEMBER)
    assert [(line.issued_points, line.budget_points) for line in result.lines] == [
        (75, 15),
        (25, 5),
    ]
    assert {line.budget_action for line in result.lines} == {BudgetAction.SCALED}
    row = month_row(session, date(2026, 12, 1))
    assert (row.issued_points, row.deferred_points, row.scaled_points) == (100, 0, 20)
    run = budget.release_deferred(session, policy=scale(), now=JANUARY)
    assert (run.reductions, run.points) == (0, 0)
    assert ledger.reconcile(session).ok


@pytest.mark.parametrize(("percent", "warned"), [(80, True), (79, True), (81, False)])
def test_the_bureau_is_warned_when_the_threshold_is_reached(session, version, percent, warned):
    alice = make_user(session)
    rules = defer(budget_warn_percent=percent)
    set_budget(session, "2026-12", 1_000, rules=rules)
    earn(session, version, [(alice.id, 800)], rules=rules, now=DECEMBER)
    row = month_row(session, date(2026, 12, 1))
    assert (row.warned_at is not None) is warned
    assert row.reached_at is None


# -- releasing deferred points -------------------------------------------------------------------


def test_deferred_points_are_issued_first_from_the_next_month_s_budget(session, version):
    alice, bob = make_user(session), make_user(session)
    set_budget(session, "2026-12", 100)
    set_budget(session, "2027-01", 130)
    first = earn(session, version, [(alice.id, 100), (bob.id, 60)], rules=defer(), now=DECEMBER)
    assert first.budget_points == 60
    # Before the release runs, a new January credit leaves room for what December owes.
    early = earn(session, version, [(bob.id, 100)], rules=defer(), now=JANUARY)
    assert (early.issued_points, early.budget_points) == (70, 30)
    run = budget.release_deferred(session, policy=defer(), now=JANUARY)
    assert (run.points, run.carried_on) == (60, 0)
    releases = session.scalars(sa.select(BudgetRelease)).all()
    for release in releases:
        transaction = session.get(Transaction, release.transaction_id)
        assert (transaction.reference_type, transaction.reference_id) == (
            "reduction",
            release.reduction_id,
        )
    assert sum(release.points for release in releases) == 60
    assert month_row(session, date(2026, 12, 1)).passed_on_points == 60
    january = month_row(session, date(2027, 1, 1))
    assert (january.issued_points, january.deferred_points) == (130, 30)
    again = budget.release_deferred(session, policy=defer(), now=JANUARY)
    assert (again.reductions, again.points) == (0, 0)
    assert ledger.reconcile(session).ok
    assert ledger.totals(session).issued == 230


def test_what_a_month_cannot_release_is_carried_on_and_a_deferral_is_issued_in_parts(
    session, version
):
    alice = make_user(session)
    set_budget(session, "2026-12", 10)
    set_budget(session, "2027-01", 25)
    deferred = earn(session, version, [(alice.id, 50)], rules=defer(), now=DECEMBER)
    assert deferred.budget_points == 40
    january = budget.release_deferred(session, policy=defer(), now=JANUARY)
    assert (january.points, january.carried_on) == (25, 15)
    assert month_row(session, date(2027, 1, 1)).deferred_points == 15
    # February has no budget: everything still owed is issued.
    february = budget.release_deferred(session, policy=defer(), now=FEBRUARY)
    assert (february.points, february.carried_on) == (15, 0)
    parts = session.scalars(sa.select(BudgetRelease.points).order_by(BudgetRelease.month)).all()
    assert parts == [25, 15]
    assert wallet_balance(session, alice.id) == 50 == entry_sum(session, alice.id)
    assert ledger.reconcile(session).ok


def test_this_month_s_deferrals_wait_for_next_month(session, version):
    alice = make_user(session)
    set_budget(session, "2026-12", 10)
    earn(session, version, [(alice.id, 30)], rules=defer(), now=DECEMBER)
    run = budget.release_deferred(session, policy=defer(), now=DECEMBER)
    assert (run.reductions, run.points) == (0, 0)
    assert wallet_balance(session, alice.id) == 10


# -- the bureau sets a budget --------------------------------------------------------------------


def test_a_budget_is_set_changed_and_audited(session):
    set_budget(session, "2027-01", 5_000)
    row = set_budget(session, "2027-01", 6_000)
    assert (row.month, row.budget_points) == (date(2027, 1, 1), 6_000)
    entries = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "ledger.budget")
    ).all()
    assert [entry.summary for entry in entries] == [
        {"budget_points": 5_000, "previous": None},
        {"budget_points": 6_000, "previous": 5_000},
    ]


@pytest.mark.parametrize(("points", "allowed"), [(600, True), (599, False)])
def test_a_budget_cannot_go_below_what_the_month_already_issued(session, version, points, allowed):
    alice = make_user(session)
    set_budget(session, "2026-12", 1_000)
    earn(session, version, [(alice.id, 600)], rules=defer(), now=DECEMBER)
    if allowed:
        assert set_budget(session, "2026-12", points).budget_points == 600
        return
    with pytest.raises(DomainError) as refused:
        set_budget(session, "2026-12", points)
    assert (refused.value.reason, refused.value.status) == ("budget_below_issued", 409)
    assert "600" in str(refused.value.message)
    assert month_row(session, date(2026, 12, 1)).budget_points == 1_000


@pytest.mark.parametrize(
    ("month", "points", "reason"),
    [
        ("2026-11", 10, "budget_month_past"),
        ("2026-13", 10, "invalid_month"),
        ("2026-1", 10, "invalid_month"),
        ("december", 10, "invalid_month"),
        ("2026-12", -1, "invalid_budget"),
        ("2026-12", 1.5, "invalid_budget"),
        ("2026-12", True, "invalid_budget"),
        ("2026-12", budget.MAX_BUDGET + 1, "invalid_budget"),
    ],
)
def test_bad_budgets_are_refused_and_nothing_is_written(session, month, points, reason):
    with pytest.raises(DomainError) as refused:
        set_budget(session, month, points)
    assert refused.value.reason == reason
    assert session.scalar(sa.select(sa.func.count()).select_from(BudgetMonth)) == 0


@pytest.mark.parametrize("points", [0, budget.MAX_BUDGET])
def test_budgets_at_the_limits_are_accepted(session, points):
    assert set_budget(session, "2026-12", points).budget_points == points


def test_a_zero_budget_defers_everything(session, version):
    alice = make_user(session)
    set_budget(session, "2026-12", 0)
    result = earn(session, version, [(alice.id, 42)], rules=defer(), now=DECEMBER)
    assert (result.issued_points, result.budget_points) == (0, 42)
    assert wallet_balance(session, alice.id) == 0


@pytest.mark.parametrize(("points", "allowed"), [(500, True), (499, False)])
def test_points_issued_before_the_month_had_a_budget_count_against_it(
    session, version, points, allowed
):
    alice = make_user(session)
    earn(session, version, [(alice.id, 500)], rules=defer(), now=DECEMBER)
    if not allowed:
        with pytest.raises(DomainError) as refused:
            set_budget(session, "2026-12", points)
        assert refused.value.details == {"issued_points": 500}
        assert session.scalar(sa.select(sa.func.count()).select_from(BudgetMonth)) == 0
        return
    row = set_budget(session, "2026-12", points)
    assert (row.issued_points, row.warned_at) == (500, DECEMBER)
    later = earn(session, version, [(alice.id, 10)], rules=defer(), now=DECEMBER)
    assert (later.issued_points, later.budget_points) == (0, 10)
