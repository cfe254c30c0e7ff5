"""A stateful property test: earn, redeem, reverse, expire and retries, checked after every step.

After each step: every transaction sums to zero, every stored wallet balance equals the sum of
its entries and none is negative, no earlier entry changed, and each wallet holds what a separate
lot-by-lot model of the same steps says (so expiry takes the oldest lots first). An expiry run
told when the previous one happened must expire exactly what a run examining every wallet would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from app.errors import DomainError
from app.ledger import services as ledger
from app.ledger.models import Entry
from app.reductions.issuance import issue_points_for
from tests.factories import make_user
from tests.ledger.support import make_merchant, make_reduction, make_version, policy

START = datetime(2025, 1, 1, 2, tzinfo=UTC)


@dataclass
class Holder:
    id: int
    #: Credits as [expires_at, points]; reversing one subtracts from its lot.
    lots: list[list] = field(default_factory=list)
    outflow: int = 0  # spent and expired, less what reversals of debits gave back

    @property
    def balance(self) -> int:
        return sum(points for _, points in self.lots) - self.outflow

    def expiring_by(self, instant: datetime) -> int:
        """Points of lots expiring by ``instant`` still held, consuming the oldest lots first."""
        left, alive = self.outflow, 0
        for expires_at, points in sorted(self.lots, key=lambda lot: lot[0]):
            used = min(max(left, 0), points)
            left -= points
            if expires_at <= instant:
                alive += points - used
        return alive


def machine_for(session):
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.savepoint = session.begin_nested()
            self.holders = [Holder(make_user(session).id) for _ in range(2)]
            self.merchant = make_merchant(session).id
            self.version = make_version(session)
            self.clock = START
            self.rules = policy()
            self.seen: dict[tuple[int, int], tuple[int, datetime | None]] = {}
            self.redeemed: list[tuple[str, int, int, Holder]] = []  # key, points, transaction
            self.reduction_ids: list[int] = []
            self.keys = 0
            self.previous_expiry: datetime | None = None

        def step(self, action):
            """Run one service call as a request would, at the machine's clock: a refusal rolls
            back only this step."""
            savepoint = session.begin_nested()
            try:
                with time_machine.travel(self.clock, tick=False):
                    result = action()
            except DomainError as error:
                savepoint.rollback()
                return error
            savepoint.commit()
            return result

        def new_key(self) -> str:
            self.keys += 1
            return f"key-{self.keys}"

        @rule(who=st.integers(0, 1), grams=st.integers(0, 400), days=st.integers(0, 120))
        def earn(self, who, grams, days):
            self.clock += timedelta(days=days)
            holder = self.holders[who]
            reduction = make_reduction(
                session, holder.id, grams, version=self.version, occurred_at=self.clock
            )
            result = self.step(
                lambda: issue_points_for(session, [reduction.id], policy=self.rules, now=self.clock)
            )
            [line] = result.lines
            assert line.issued_points == grams
            holder.lots.append([self.rules.expires_at(self.clock), grams])
            self.reduction_ids.append(reduction.id)

        @rule(who=st.integers(0, 1), points=st.integers(1, 500))
        def redeem(self, who, points):
            holder, key = self.holders[who], self.new_key()
            result = self.step(
                lambda: ledger.redeem(
                    session,
                    holder_id=holder.id,
                    merchant_id=self.merchant,
                    points=points,
                    idempotency_key=key,
                )
            )
            if points > holder.balance:
                assert isinstance(result, DomainError) and result.reason == "insufficient_points"
                assert result.details["balance"] == holder.balance
                return
            assert result.balance == holder.balance - points
            holder.outflow += points
            self.redeemed.append((key, points, result.transaction_id, holder))

        @rule(pick=st.integers(0, 10_000), same=st.booleans())
        def retry_a_redemption(self, pick, same):
            if not self.redeemed:
                return
            key, points, transaction_id, holder = self.redeemed[pick % len(self.redeemed)]
            result = self.step(
                lambda: ledger.redeem(
                    session,
                    holder_id=holder.id,
                    merchant_id=self.merchant,
                    points=points if same else points + 1,
                    idempotency_key=key,
                )
            )
            if same:
                assert result.replayed and result.transaction_id == transaction_id
                assert result.balance == holder.balance
            else:
                assert isinstance(result, DomainError)
                assert result.reason == "idempotency_conflict"

        @rule(pick=st.integers(0, 10_000))
        def retry_an_issue(self, pick):
            if not self.reduction_ids:
                return
            reduction = self.reduction_ids[pick % len(self.reduction_ids)]
            result = self.step(
                lambda: issue_points_for(session, [reduction], policy=self.rules, now=self.clock)
            )
            assert result.lines == () and result.already_issued == (reduction,)

        @rule(pick=st.integers(0, 10_000))
        def reverse(self, pick):
            if not self.redeemed:
                return
            key, points, transaction_id, holder = self.redeemed[pick % len(self.redeemed)]
            result = self.step(
                lambda: ledger.reverse(session, transaction_id, idempotency_key=f"undo-{key}")
            )
            if result.replayed:
                assert result.balance == holder.balance
                return
            holder.outflow -= points
            assert result.balance == holder.balance

        @rule(days=st.integers(0, 400), told=st.booleans())
        def expire(self, days, told):
            self.clock += timedelta(days=days)
            expected = {h.id: h.expiring_by(self.clock) for h in self.holders}
            run = self.step(
                lambda: ledger.expire_points(
                    session,
                    now=self.clock,
                    policy=self.rules,
                    previous_run=self.previous_expiry if told else None,
                )
            )
            self.previous_expiry = self.clock
            assert run.points == sum(expected.values())
            for holder in self.holders:
                holder.outflow += expected[holder.id]

        @invariant()
        def the_ledger_reconciles(self):
            report = ledger.reconcile(session)
            assert report.ok, report
            for holder in self.holders:
                assert ledger.balance(session, holder.id) == holder.balance >= 0

        @invariant()
        def earlier_entries_are_unchanged(self):
            now = {
                (row.transaction_id, row.account_id): (row.amount, row.expires_at)
                for row in session.execute(
                    sa.select(
                        Entry.transaction_id, Entry.account_id, Entry.amount, Entry.expires_at
                    )
                )
            }
            assert all(now.get(key) == value for key, value in self.seen.items())
            self.seen = now

        def teardown(self):
            self.savepoint.rollback()

    return LedgerMachine


def test_the_ledger_keeps_its_invariants_through_any_sequence_of_steps(session):
    run_state_machine_as_test(
        machine_for(session),
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
