"""Issuing points for verified reductions: the rate, at most once, caps by local day and month."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine

from app.errors import DomainError
from app.ledger import services as ledger
from app.ledger.models import Cap, Entry, Issuance, Transaction, TransactionKind
from app.ledger.policy import Caps, LedgerPolicy
from app.reductions.issuance import issue_points_for
from app.reductions.models import ReductionStatus
from app.wallet.history import history
from tests.factories import make_user
from tests.ledger.support import (
    SHANGHAI,
    entry_sum,
    make_reduction,
    make_version,
    policy,
    transaction_count,
    wallet_balance,
)


def at(text: str) -> datetime:
    """A UTC instant from ISO text."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_batch_credits_each_reduction_once_with_its_own_transaction(session, version):
    alice, bob = make_user(session), make_user(session)
    reductions = [
        make_reduction(session, alice.id, 221, version=version),
        make_reduction(session, alice.id, 100, version=version),
        make_reduction(session, bob.id, 50, version=version),
    ]
    result = issue_points_for(session, [r.id for r in reductions], policy=policy())
    assert result.issued_points == 371 and result.capped_points == 0
    assert wallet_balance(session, alice.id) == 321 == entry_sum(session, alice.id)
    assert wallet_balance(session, bob.id) == 50
    for line in result.lines:
        transaction = session.get(Transaction, line.transaction_id)
        assert transaction.kind == TransactionKind.ISSUE
        assert (transaction.reference_type, transaction.reference_id) == (
            "reduction",
            line.reduction_id,
        )
        issuance = session.get(Issuance, line.reduction_id)
        assert issuance.transaction_id == line.transaction_id
        amounts = session.scalars(
            sa.select(Entry.amount).where(Entry.transaction_id == line.transaction_id)
        ).all()
        assert sorted(amounts) == [-line.issued_points, line.issued_points]
    assert ledger.totals(session).issued == 371


def test_the_ledger_issues_the_plain_lines_it_is_given(session, version):
    """The ledger reads no reduction: the day, grams and methodology are the line's."""
    alice = make_user(session)
    reduction = make_reduction(session, alice.id, 300, version=version)
    line = ledger.Earning(
        reduction.id, alice.id, 120, reduction.occurred_at, at("2025-03-02T00:00").date(), "bus"
    )
    result = ledger.issue_points(
        session, [line, line], policy=policy(by_methodology={"bus": Caps(daily=100)})
    )
    [issued] = result.lines
    assert (issued.issued_points, issued.capped_points, issued.cap) == (
        100,
        20,
        Cap.METHODOLOGY_DAILY,
    )
    issuance = session.get(Issuance, reduction.id)
    assert (issuance.methodology_code, issuance.activity_date.isoformat()) == ("bus", "2025-03-02")
    assert wallet_balance(session, alice.id) == 100


def test_issuing_again_changes_nothing(session, version):
    alice = make_user(session)
    first = make_reduction(session, alice.id, 10, version=version)
    issue_points_for(session, [first.id], policy=policy())
    count = transaction_count(session)
    second = make_reduction(session, alice.id, 5, version=version)
    result = issue_points_for(session, [first.id, second.id, first.id], policy=policy())
    assert result.already_issued == (first.id,)
    assert [line.reduction_id for line in result.lines] == [second.id]
    assert transaction_count(session) == count + 1
    assert wallet_balance(session, alice.id) == 15


@pytest.mark.parametrize("status", [ReductionStatus.PENDING, ReductionStatus.REJECTED])
def test_only_verified_reductions_earn_points(session, version, status):
    alice = make_user(session)
    good = make_reduction(session, alice.id, 10, version=version)
    bad = make_reduction(session, alice.id, 10, version=version, status=status)
    with pytest.raises(DomainError) as refused:
        issue_points_for(session, [good.id, bad.id], policy=policy())
    assert refused.value.reason == "reduction_not_verified"
    assert str(bad.id) in str(refused.value.message)
    assert wallet_balance(session, alice.id) is None  # nothing written, not even the good one


def test_an_unknown_reduction_refuses_the_batch(session, version):
    with pytest.raises(DomainError) as refused:
        issue_points_for(session, [987_654], policy=policy())
    assert refused.value.reason == "reduction_not_found" and refused.value.status == 404


def test_the_city_rate_rounds_down_to_whole_points(session, version):
    alice = make_user(session)
    reduction = make_reduction(session, alice.id, 999, version=version)
    half = LedgerPolicy(zone=SHANGHAI, points_per_gram=Decimal("0.5"))
    [line] = issue_points_for(session, [reduction.id], policy=half).lines
    assert (line.requested_points, line.issued_points) == (499, 499)


def test_the_daily_cap_counts_by_the_local_day_at_midnight_in_shanghai(session, version):
    alice = make_user(session)
    capped = policy(daily=300)
    # 23:59:59 and 00:00:00 in Shanghai are 15:59:59 and 16:00:00 UTC: two different days.
    late = [
        make_reduction(session, alice.id, 200, version=version, occurred_at=at("2025-03-01T15:00"))
        for _ in range(2)
    ]
    last_second = make_reduction(
        session, alice.id, 50, version=version, occurred_at=at("2025-03-01T15:59:59")
    )
    next_day = make_reduction(
        session, alice.id, 250, version=version, occurred_at=at("2025-03-01T16:00:00")
    )
    with time_machine.travel(at("2025-03-02T01:00"), tick=False):
        result = issue_points_for(
            session, [r.id for r in [*late, last_second, next_day]], policy=capped
        )
    by_id = {line.reduction_id: line for line in result.lines}
    assert [(by_id[r.id].issued_points, by_id[r.id].capped_points) for r in late] == [
        (200, 0),
        (100, 100),
    ]
    assert by_id[late[1].id].cap == Cap.DAILY
    assert (by_id[last_second.id].issued_points, by_id[last_second.id].cap) == (0, Cap.DAILY)
    assert (by_id[next_day.id].issued_points, by_id[next_day.id].cap) == (250, None)
    issuance = session.get(Issuance, next_day.id)
    assert issuance.activity_date.isoformat() == "2025-03-02"
    assert wallet_balance(session, alice.id) == 550


def test_caps_count_what_earlier_batches_issued(session, version):
    alice = make_user(session)
    capped = policy(daily=300)
    first = make_reduction(session, alice.id, 250, version=version)
    issue_points_for(session, [first.id], policy=capped)
    second = make_reduction(session, alice.id, 250, version=version)
    [line] = issue_points_for(session, [second.id], policy=capped).lines
    assert (line.issued_points, line.capped_points, line.cap) == (50, 200, Cap.DAILY)


def test_a_reduction_capped_to_nothing_still_shows_in_the_history(session, version):
    alice = make_user(session)
    capped = policy(daily=100)
    reductions = [make_reduction(session, alice.id, 100, version=version) for _ in range(2)]
    issue_points_for(session, [r.id for r in reductions], policy=capped)
    page = history(session, alice.id, limit=10)
    assert [(item.points, item.credit.capped_points) for item in page.items] == [(0, 100), (100, 0)]
    assert page.items[0].credit.cap == Cap.DAILY


def test_the_monthly_cap_counts_the_calendar_month_in_shanghai(session, version):
    alice = make_user(session)
    capped = policy(monthly=1_000)
    # 31 March 23:30 in Shanghai is still March; 1 April 00:30 is a new month.
    march = [
        make_reduction(session, alice.id, 400, version=version, occurred_at=at(f"2025-03-{d}T04"))
        for d in ("01", "15", "31")
    ]
    last_minutes = make_reduction(
        session, alice.id, 400, version=version, occurred_at=at("2025-03-31T15:30")
    )
    april = make_reduction(
        session, alice.id, 400, version=version, occurred_at=at("2025-03-31T16:30")
    )
    result = issue_points_for(session, [r.id for r in [*march, last_minutes, april]], policy=capped)
    issued = {line.reduction_id: (line.issued_points, line.cap) for line in result.lines}
    assert [issued[r.id] for r in march] == [(400, None), (400, None), (200, Cap.MONTHLY)]
    assert issued[last_minutes.id] == (0, Cap.MONTHLY)
    assert issued[april.id] == (400, None)


def test_earlier_batches_count_toward_their_own_day_and_their_whole_month(session, version):
    alice = make_user(session)
    capped = policy(daily=500, monthly=1_000)

    def reduction(day: str, grams: int):
        return make_reduction(
            session, alice.id, grams, version=version, occurred_at=at(f"{day}T04")
        )

    for day, grams in (("2025-03-03", 300), ("2025-03-10", 300), ("2025-04-01", 400)):
        issue_points_for(session, [reduction(day, grams).id], policy=capped)
    batch = [
        reduction("2025-03-10", 300),
        reduction("2025-03-20", 300),
        reduction("2025-04-01", 300),
    ]
    result = issue_points_for(session, [r.id for r in batch], policy=capped)
    issued = {line.reduction_id: (line.issued_points, line.cap) for line in result.lines}
    # 10 March: 300 earlier that day; 20 March: 800 earlier that month; 1 April: 400 that day.
    assert [issued[r.id] for r in batch] == [(200, Cap.DAILY), (200, Cap.MONTHLY), (100, Cap.DAILY)]


def test_caps_per_methodology_apply_next_to_the_overall_caps(session):
    alice = make_user(session)
    bus, metro = make_version(session, "bus"), make_version(session, "metro")
    capped = policy(daily=1_000, by_methodology={"bus": Caps(daily=300)})
    rides = [make_reduction(session, alice.id, 200, version=bus) for _ in range(2)]
    trains = [make_reduction(session, alice.id, 400, version=metro) for _ in range(2)]
    result = issue_points_for(session, [r.id for r in [*rides, *trains]], policy=capped)
    issued = {line.reduction_id: (line.issued_points, line.cap) for line in result.lines}
    assert [issued[r.id] for r in rides] == [(200, None), (100, Cap.METHODOLOGY_DAILY)]
    assert [issued[r.id] for r in trains] == [(400, None), (300, Cap.DAILY)]


def test_caps_count_earlier_batches_of_every_methodology(session):
    alice = make_user(session)
    bus, metro = make_version(session, "bus"), make_version(session, "metro")
    capped = policy(daily=1_000, by_methodology={"bus": Caps(daily=300)})

    def issue(version, grams):
        reduction = make_reduction(session, alice.id, grams, version=version)
        [line] = issue_points_for(session, [reduction.id], policy=capped).lines
        return line.issued_points, line.cap

    assert issue(metro, 600) == (600, None)
    assert issue(bus, 200) == (200, None)
    # The bus cap counts the earlier bus batch only; the overall cap counts both methodologies.
    assert issue(bus, 250) == (100, Cap.METHODOLOGY_DAILY)
    assert issue(metro, 250) == (100, Cap.DAILY)


def test_the_configuration_names_its_caps(app):
    from app.config import ConfigError
    from app.ledger.policy import parse_caps_by_methodology, policy_from_config

    config = dict(app.config)
    config.update(
        POINTS_DAILY_CAP=0,
        POINTS_MONTHLY_CAP=5_000,
        POINTS_CAPS_BY_METHODOLOGY='{"bus": {"daily": 2000}}',
        POINTS_EXPIRY_DAYS=365,
    )
    built = policy_from_config(config)
    assert built.caps == Caps(daily=None, monthly=5_000)
    assert built.caps_by_methodology == {"bus": Caps(daily=2_000)}
    assert built.expiry_days == 365
    for bad in ('{"bus": 5}', "[1]", '{"bus": {"weekly": 1}}', '{"bus": {"daily": -1}}', "{"):
        with pytest.raises(ConfigError):
            parse_caps_by_methodology(bad)
