"""Expiry on a frozen clock: the year-end rule, oldest lots first, chunks, and reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from app.audit.services import SYSTEM
from app.ledger import services as ledger
from app.ledger.models import Transaction, TransactionKind
from app.ledger.policy import valid_until
from app.reductions.issuance import issue_points_for
from tests.factories import make_user
from tests.ledger.support import SHANGHAI, entry_sum, make_reduction, policy, wallet_balance

# Points issued during 2025 are valid through 31 December 2026 in Shanghai, which ends at
# 2026-12-31 16:00 UTC.
YEAR_END = datetime(2026, 12, 31, 16, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def earn(session, holder, points, version, when):
    reduction = make_reduction(session, holder.id, points, version=version, occurred_at=when)
    with time_machine.travel(when, tick=False):
        issue_points_for(session, [reduction.id], policy=policy())


def spend(session, holder, merchant, points, key):
    return ledger.redeem(
        session, holder_id=holder.id, merchant_id=merchant.id, points=points, idempotency_key=key
    )


def expire(session, now):
    return ledger.expire_points(session, now=now, policy=policy())


def test_points_expire_at_the_end_of_the_year_after_they_were_issued():
    rules = policy()
    assert rules.expires_at(at("2025-01-01T00:00")) == YEAR_END
    # 31 December 2025 20:00 in Shanghai is already 2025 locally; 1 January 2026 is not.
    assert rules.expires_at(at("2025-12-31T12:00")) == YEAR_END
    assert rules.expires_at(at("2025-12-31T16:00")) == datetime(2027, 12, 31, 16, tzinfo=UTC)
    assert valid_until(YEAR_END, SHANGHAI).isoformat() == "2026-12-31"
    by_days = policy(expiry_days=30)
    assert by_days.expires_at(at("2025-03-01T17:00")) == at("2025-04-01T16:00")


def test_the_year_end_expiry_takes_exactly_the_old_points(session, version):
    alice = make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    earn(session, alice, 200, version, at("2026-05-01T02:00"))
    one_second_early = expire(session, YEAR_END - timedelta(seconds=1))
    assert (one_second_early.wallets, one_second_early.points) == (0, 0)
    run = expire(session, YEAR_END)
    assert (run.wallets, run.points) == (1, 300)
    assert wallet_balance(session, alice.id) == 200 == entry_sum(session, alice.id)
    transaction = session.scalar(
        sa.select(Transaction).where(Transaction.kind == TransactionKind.EXPIRE)
    )
    assert transaction.memo == "2026-12-31"
    again = expire(session, YEAR_END + timedelta(days=1))
    assert (again.wallets, again.points) == (0, 0)
    assert ledger.totals(session).expired == 300


def test_spending_takes_the_oldest_lots_first(session, version, merchant):
    alice = make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    earn(session, alice, 200, version, at("2026-05-01T02:00"))
    with time_machine.travel(at("2026-06-01T02:00"), tick=False):
        spend(session, alice, merchant, 250, "spend-1")
    run = expire(session, YEAR_END)
    assert run.points == 50  # 300 old − 250 spent
    assert wallet_balance(session, alice.id) == 200


def test_a_reversed_redemption_refills_the_oldest_lots(session, version, merchant):
    alice = make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    earn(session, alice, 200, version, at("2026-05-01T02:00"))
    debit = spend(session, alice, merchant, 250, "spend-1")
    ledger.reverse(session, debit.transaction_id, idempotency_key="undo")
    assert expire(session, YEAR_END).points == 300


def test_a_reversed_credit_shrinks_its_own_lot(session, version):
    alice = make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    earn(session, alice, 200, version, at("2026-05-01T02:00"))
    recent = session.scalar(
        sa.select(Transaction.id)
        .where(Transaction.kind == TransactionKind.ISSUE)
        .order_by(Transaction.id.desc())
    )
    ledger.reverse(session, recent, idempotency_key="claw-back")
    assert expire(session, YEAR_END).points == 300
    assert wallet_balance(session, alice.id) == 0


def test_points_refilled_after_their_expiry_expire_at_the_next_run(session, version, merchant):
    alice = make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    earn(session, alice, 200, version, at("2026-05-01T02:00"))
    debit = spend(session, alice, merchant, 100, "spend-1")
    assert expire(session, YEAR_END).points == 200
    ledger.reverse(session, debit.transaction_id, idempotency_key="undo")
    assert expire(session, YEAR_END + timedelta(hours=1)).points == 100
    assert wallet_balance(session, alice.id) == 200


def test_a_run_told_of_the_previous_one_sees_points_given_back_since(session, version, merchant):
    alice, bob = make_user(session), make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    earn(session, alice, 200, version, at("2026-05-01T02:00"))
    debit = spend(session, alice, merchant, 100, "spend-1")
    earn(session, bob, 50, version, at("2025-06-01T02:00"))
    next_day = YEAR_END + timedelta(days=1)
    assert expire(session, next_day).points == 250  # alice's 200 left of 2025, bob's 50
    earn(session, bob, 70, version, at("2027-03-01T02:00"))  # valid to the end of 2028

    with time_machine.travel(next_day + timedelta(days=1), tick=False):
        ledger.reverse(session, debit.transaction_id, idempotency_key="undo")
    told = ledger.expire_points(
        session, now=next_day + timedelta(days=2), policy=policy(), previous_run=next_day
    )
    assert (told.wallets, told.points) == (1, 100)  # the 100 given back refilled a passed lot
    assert wallet_balance(session, alice.id) == 200
    assert wallet_balance(session, bob.id) == 70


def test_a_run_told_of_the_previous_one_leaves_wallets_that_did_not_change(session, version):
    alice = make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    # As if a run after the year end had already taken these points: a told run skips the wallet.
    told = ledger.expire_points(
        session,
        now=YEAR_END + timedelta(days=30),
        policy=policy(),
        previous_run=YEAR_END + timedelta(days=1),
    )
    assert (told.wallets, told.points) == (0, 0)
    assert expire(session, YEAR_END + timedelta(days=30)).points == 300  # a full run does not


def test_adjusted_points_expire_like_issued_ones(session):
    alice = make_user(session)
    with time_machine.travel(at("2025-05-01T02:00"), tick=False):
        ledger.adjust(
            session,
            SYSTEM,
            holder_id=alice.id,
            points=40,
            reason="补发",
            idempotency_key="adj",
            policy=policy(),
        )
    assert expire(session, YEAR_END).points == 40


def test_the_run_goes_in_chunks_of_wallets(session, version):
    holders = [make_user(session) for _ in range(5)]
    for holder in holders:
        earn(session, holder, 10, version, at("2025-05-01T02:00"))
    seen, after, runs = 0, 0, 0
    while after is not None:
        run = ledger.expire_points(
            session, now=YEAR_END, policy=policy(), after_wallet_id=after, limit=2
        )
        seen, after, runs = seen + run.wallets, run.next_after, runs + 1
    assert (seen, runs) == (5, 3)
    assert all(wallet_balance(session, h.id) == 0 for h in holders)


def test_the_wallet_shows_what_expires_and_when(session, version, merchant):
    alice = make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    earn(session, alice, 200, version, at("2026-05-01T02:00"))
    spend(session, alice, merchant, 100, "spend-1")
    summary = ledger.wallet_summary(session, alice.id, now=at("2026-06-01T02:00"), policy=policy())
    assert summary.balance == 400
    assert [(lot.until.isoformat(), lot.points) for lot in summary.expiring] == [
        ("2026-12-31", 200),
        ("2027-12-31", 200),
    ]


def test_expiring_soon_lists_wallets_for_reminders(session, version):
    alice, bob, carol = make_user(session), make_user(session), make_user(session)
    earn(session, alice, 300, version, at("2025-05-01T02:00"))
    earn(session, bob, 200, version, at("2026-05-01T02:00"))
    earn(session, carol, 100, version, at("2025-05-01T02:00"))
    page = ledger.expiring_soon(session, now=at("2026-12-01T00:00"), within=timedelta(days=31))
    assert [(item.holder_id, item.points, item.first_expires_at) for item in page.items] == [
        (alice.id, 300, YEAR_END),
        (carol.id, 100, YEAR_END),
    ]
    assert page.next_after is None
    first = ledger.expiring_soon(
        session, now=at("2026-12-01T00:00"), within=timedelta(days=31), limit=1
    )
    assert [item.holder_id for item in first.items] == [alice.id]
    assert first.next_after is not None
