"""Debits, reversals and adjustments: double entry, idempotency, and refusals that write nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import SYSTEM, Actor
from app.errors import DomainError
from app.ledger import services as ledger
from app.ledger.models import Account, AccountType, Entry, Transaction, TransactionKind
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


@pytest.fixture
def resident(session):
    return make_user(session)


def fund(session, holder, points, version):
    """Give ``holder`` ``points`` through the issuance path."""
    reduction = make_reduction(session, holder.id, points, version=version)
    issue_points_for(session, [reduction.id], policy=policy())
    return reduction


def redeem(session, holder, merchant, points, key="r-1", **extra):
    return ledger.redeem(
        session,
        holder_id=holder.id,
        merchant_id=merchant.id,
        points=points,
        idempotency_key=key,
        **extra,
    )


def test_a_redemption_moves_points_to_the_merchant_in_one_balanced_transaction(
    session, resident, merchant, version
):
    fund(session, resident, 500, version)
    posted = redeem(session, resident, merchant, 120, memo="停车券 2 小时", reference_id=77)
    assert posted.balance == 380 and not posted.replayed
    assert wallet_balance(session, resident.id) == 380 == entry_sum(session, resident.id)
    transaction = session.get(Transaction, posted.transaction_id)
    assert transaction.kind == TransactionKind.REDEEM
    assert (transaction.reference_type, transaction.reference_id) == ("redemption", 77)
    assert transaction.memo == "停车券 2 小时"
    amounts = session.execute(
        sa.select(Account.type, Entry.amount)
        .join(Account, Account.id == Entry.account_id)
        .where(Entry.transaction_id == posted.transaction_id)
    ).all()
    assert sorted(amounts) == sorted([(AccountType.WALLET, -120), (AccountType.MERCHANT, 120)])


def test_the_same_key_and_content_returns_the_first_transaction(
    session, resident, merchant, version
):
    fund(session, resident, 500, version)
    first = redeem(session, resident, merchant, 100)
    count = transaction_count(session)
    again = redeem(session, resident, merchant, 100)
    assert again.transaction_id == first.transaction_id
    assert again.replayed and again.balance == 400
    assert transaction_count(session) == count
    assert wallet_balance(session, resident.id) == 400


def test_the_same_key_with_other_content_is_refused(session, resident, merchant, version):
    fund(session, resident, 500, version)
    redeem(session, resident, merchant, 100)
    with pytest.raises(DomainError) as refused:
        redeem(session, resident, merchant, 101)
    assert refused.value.reason == "idempotency_conflict" and refused.value.status == 409
    assert wallet_balance(session, resident.id) == 400


def test_a_debit_beyond_the_balance_states_the_balance_and_writes_nothing(
    session, resident, merchant, version
):
    fund(session, resident, 90, version)
    count = transaction_count(session)
    savepoint = session.begin_nested()
    with pytest.raises(DomainError) as refused:
        redeem(session, resident, merchant, 100)
    savepoint.rollback()  # what the edge does with a refusal
    error = refused.value
    assert error.reason == "insufficient_points" and error.status == 409
    assert error.details == {"balance": 90, "points": 100}
    assert "90" in str(error.message) and "100" in str(error.message)
    assert transaction_count(session) == count
    assert wallet_balance(session, resident.id) == 90


def test_a_resident_without_a_wallet_has_nothing_to_spend(session, resident, merchant):
    with pytest.raises(DomainError) as refused:
        redeem(session, resident, merchant, 1)
    assert refused.value.reason == "insufficient_points"
    assert refused.value.details["balance"] == 0
    assert ledger.balance(session, resident.id) == 0


@pytest.mark.parametrize("points", [0, -5, 1.5, "10", True, None])
def test_points_must_be_a_positive_whole_number(session, resident, merchant, version, points):
    fund(session, resident, 50, version)
    with pytest.raises(DomainError) as refused:
        redeem(session, resident, merchant, points)
    assert refused.value.reason == "invalid_points" and refused.value.field == "points"


@pytest.mark.parametrize("holder_role", [None, Role.MERCHANT_STAFF, Role.BUREAU_ADMIN])
def test_an_unknown_wallet_is_not_found(session, merchant, holder_role):
    holder_id = make_user(session, holder_role).id if holder_role else 987_654
    with pytest.raises(DomainError) as refused:
        ledger.redeem(
            session, holder_id=holder_id, merchant_id=merchant.id, points=5, idempotency_key="k"
        )
    assert refused.value.reason == "wallet_not_found" and refused.value.status == 404


def test_an_unknown_merchant_is_not_found(session, resident, version):
    fund(session, resident, 50, version)
    with pytest.raises(DomainError) as refused:
        ledger.redeem(
            session, holder_id=resident.id, merchant_id=987_654, points=5, idempotency_key="k"
        )
    assert refused.value.reason == "merchant_not_found"


@pytest.mark.parametrize("key", ["", "   ", "x" * 101, None])
def test_an_idempotency_key_is_required(session, resident, merchant, version, key):
    fund(session, resident, 50, version)
    with pytest.raises(DomainError) as refused:
        redeem(session, resident, merchant, 5, key=key)
    assert refused.value.reason == "invalid_idempotency_key"


def test_each_merchant_gets_its_own_clearing_account(session, resident, version):
    fund(session, resident, 100, version)
    first, second = make_merchant(session, "甲"), make_merchant(session, "乙")
    redeem(session, resident, first, 10, key="a")
    redeem(session, resident, second, 20, key="b")
    redeem(session, resident, first, 30, key="c")
    assert ledger.open_merchant_account(session, first.id) != ledger.open_merchant_account(
        session, second.id
    )
    totals = ledger.totals(session)
    assert totals.redeemed == 60 and totals.in_circulation == 40


def test_reversing_a_redemption_gives_the_points_back_once(session, resident, merchant, version):
    fund(session, resident, 100, version)
    debit = redeem(session, resident, merchant, 60)
    back = ledger.reverse(session, debit.transaction_id, idempotency_key="undo-1", memo="扫错了")
    assert back.balance == 100 == entry_sum(session, resident.id)
    reversal = session.get(Transaction, back.transaction_id)
    assert reversal.kind == TransactionKind.REVERSE and reversal.reverses_id == debit.transaction_id
    again = ledger.reverse(session, debit.transaction_id, idempotency_key="undo-1")
    assert again.replayed and again.transaction_id == back.transaction_id
    with pytest.raises(DomainError) as refused:
        ledger.reverse(session, debit.transaction_id, idempotency_key="undo-2")
    assert refused.value.reason == "already_reversed"
    with pytest.raises(DomainError) as refused:
        ledger.reverse(session, back.transaction_id, idempotency_key="undo-3")
    assert refused.value.reason == "not_reversible"
    with pytest.raises(DomainError) as refused:
        ledger.reverse(session, 987_654, idempotency_key="undo-4")
    assert refused.value.reason == "transaction_not_found"
    assert ledger.totals(session).redeemed == 0


def test_reversing_a_credit_needs_the_points_still_in_the_wallet(
    session, resident, merchant, version
):
    reduction = fund(session, resident, 100, version)
    issue = session.scalar(
        sa.select(Transaction.id).where(
            Transaction.kind == TransactionKind.ISSUE, Transaction.reference_id == reduction.id
        )
    )
    redeem(session, resident, merchant, 30)
    savepoint = session.begin_nested()
    with pytest.raises(DomainError) as refused:
        ledger.reverse(session, issue, idempotency_key="claw-back")
    savepoint.rollback()
    assert refused.value.reason == "insufficient_points"
    assert refused.value.details == {"balance": 70, "points": 100}
    assert wallet_balance(session, resident.id) == 70


def test_an_adjustment_needs_a_reason_and_is_audited(session, resident):
    admin = make_user(session, Role.BUREAU_ADMIN)
    actor = Actor(user_id=admin.id, role=Role.BUREAU_ADMIN)
    with pytest.raises(DomainError) as refused:
        ledger.adjust(
            session,
            actor,
            holder_id=resident.id,
            points=50,
            reason="  ",
            idempotency_key="adj-1",
            policy=policy(),
        )
    assert refused.value.reason == "reason_required"
    posted = ledger.adjust(
        session,
        actor,
        holder_id=resident.id,
        points=50,
        reason="补发 3 月地铁积分",
        idempotency_key="adj-1",
        policy=policy(),
    )
    assert posted.balance == 50
    taken = ledger.adjust(
        session,
        actor,
        holder_id=resident.id,
        points=-20,
        reason="重复发放",
        idempotency_key="adj-2",
        policy=policy(),
    )
    assert taken.balance == 30 == entry_sum(session, resident.id)
    entries = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "ledger.adjust").order_by(AuditEntry.id)
    ).all()
    assert [(e.actor_id, e.object_id, e.summary["points"]) for e in entries] == [
        (admin.id, str(resident.id), 50),
        (admin.id, str(resident.id), -20),
    ]
    assert entries[0].summary["reason"] == "补发 3 月地铁积分"
    assert ledger.totals(session).adjusted == 30


def test_an_adjustment_cannot_take_more_than_the_balance(session, resident):
    with pytest.raises(DomainError) as refused:
        ledger.adjust(
            session,
            SYSTEM,
            holder_id=resident.id,
            points=-1,
            reason="纠错",
            idempotency_key="adj-x",
            policy=policy(),
        )
    assert refused.value.reason == "insufficient_points"


def test_entries_and_transactions_cannot_be_changed_or_deleted(session, resident, version):
    fund(session, resident, 10, version)
    for statement in (
        sa.update(Entry).values(amount=1_000),
        sa.delete(Entry),
        sa.update(Transaction).values(memo="x"),
        sa.delete(Transaction),
    ):
        savepoint = session.begin_nested()
        with pytest.raises(sa.exc.DatabaseError):
            session.execute(statement)
        savepoint.rollback()
    assert entry_sum(session, resident.id) == 10


def test_a_wallet_balance_below_zero_is_refused_by_the_database(session, resident, version):
    fund(session, resident, 10, version)
    savepoint = session.begin_nested()
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(
            sa.update(Account).where(Account.holder_id == resident.id).values(balance=-1)
        )
    savepoint.rollback()
