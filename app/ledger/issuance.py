"""Issuing points for verified reductions, in batches, with the city's daily and monthly caps.

The ledger takes each reduction as a plain :class:`Earning` (who, how many grams, when, which
methodology) that its caller builds; it knows no domain that feeds it. One issue transaction per
reduction (wallet +points, issuance −points), written in a few statements per batch. Caps count
by the activity's local date in the city's time zone: overall and per methodology, per day and per
calendar month. The part above a cap is not issued; it is recorded on the reduction's issuance
row, so the resident sees it. What passes the caps is then charged to the month's points budget
(:mod:`app.ledger.budget`, one statement per batch); a part the budget cannot cover is deferred or
scaled away, per the city's policy, and recorded on the row too. The batch locks the wallets it
credits (in id order, so two batches never deadlock) before it reads what was already issued,
so concurrent batches cannot together exceed a cap or issue a reduction twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import clock
from app.ledger import batch, budget
from app.ledger.models import Account, AccountType, BudgetAction, Cap, Issuance, TransactionKind
from app.ledger.policy import Caps, LedgerPolicy
from app.ledger.postings import ensure_wallets, fingerprint, system_account_id

accounts = Account.__table__
issuances = Issuance.__table__


class Earning(NamedTuple):
    """A verified reduction to issue points for, as plain values.

    A named tuple: batches make thousands of them.
    """

    reduction_id: int
    participant_id: int
    grams: int
    #: When the activity happened: a participant's earlier activities take a cap's room first.
    occurred_at: datetime
    #: Its local date in the city's time zone (the policy's): caps count by it.
    day: date
    methodology_code: str


class IssueLine(NamedTuple):
    """What one reduction earned: requested at the city's rate, issued, and held back by a cap.

    A named tuple: batches make thousands of them.
    """

    reduction_id: int
    participant_id: int
    transaction_id: int
    requested_points: int
    issued_points: int
    capped_points: int
    cap: Cap | None
    #: Points the month's budget could not cover, and whether they were deferred or scaled away.
    budget_points: int = 0
    budget_action: BudgetAction | None = None


@dataclass(frozen=True, slots=True)
class IssueResult:
    lines: tuple[IssueLine, ...]
    #: Reductions issued by an earlier call, left as they were (a retried batch is harmless).
    already_issued: tuple[int, ...]

    @property
    def issued_points(self) -> int:
        return sum(line.issued_points for line in self.lines)

    @property
    def capped_points(self) -> int:
        return sum(line.capped_points for line in self.lines)

    @property
    def budget_points(self) -> int:
        return sum(line.budget_points for line in self.lines)


def issue_points(
    session: Session,
    earnings: Iterable[Earning],
    *,
    policy: LedgerPolicy,
    now: datetime | None = None,
) -> IssueResult:
    """Issue points for verified reductions, each at most once, in the caller's transaction.

    The caller vouches that each reduction exists and is verified; a reduction given twice is
    issued once.
    """
    found = list(earnings)
    ids = sorted({earning.reduction_id for earning in found})
    if not ids:
        return IssueResult((), ())
    if len(ids) < len(found):  # a reduction given twice is issued once
        found = list({earning.reduction_id: earning for earning in found}.values())
    now = now or clock.now()
    session.flush()  # rows the caller added in this session must be visible to SQL
    conn = session.connection()
    participants = sorted({r.participant_id for r in found})
    wallets = lock_wallets_of(conn, participants)
    new = [p for p in participants if p not in wallets]
    if new:  # a first credit: open the wallets (their ids come after every locked one)
        ensure_wallets(conn, new, now)
        wallets.update(lock_wallets_of(conn, new))
    done = set(
        conn.execute(
            sa.select(issuances.c.reduction_id).where(
                batch.id_list_filter(conn, issuances.c.reduction_id, ids)
            )
        ).scalars()
    )
    todo = sorted(
        (r for r in found if r.reduction_id not in done),
        key=lambda r: (r.participant_id, r.occurred_at, r.reduction_id),
    )
    if not todo:
        return IssueResult((), tuple(sorted(done)))
    counter = _CapCounter(conn, policy, todo)
    requested_points = [policy.points_for(earning.grams) for earning in todo]
    allowed = [counter.take(e, asked) for e, asked in zip(todo, requested_points, strict=True)]
    within_caps = [points for points, _cap in allowed]
    reservation = budget.reserve(conn, sum(within_caps), policy=policy, now=now)
    held, action = budget.held_back(within_caps, reservation, policy)
    transaction_ids = batch.allocate_transaction_ids(conn, len(todo))
    issuance_account = system_account_id(conn, AccountType.ISSUANCE)
    expires_at = policy.expires_at(now)
    kind = TransactionKind.ISSUE.value
    transaction_rows, entry_rows, issuance_rows, lines = [], [], [], []
    deltas: dict[int, int] = defaultdict(int)
    for earning, transaction_id, requested, (passed, cap), kept in zip(
        todo, transaction_ids, requested_points, allowed, held, strict=True
    ):
        reduction_id = earning.reduction_id
        issued = passed - kept
        capped = requested - passed
        participant = earning.participant_id
        wallet = wallets[participant]
        transaction_rows.append(
            (
                transaction_id,
                kind,
                f"issue:{reduction_id}",
                fingerprint(kind, reduction_id, participant, issued),
                "reduction",
                reduction_id,
                "",
                now,
            )
        )
        entry_rows.append((transaction_id, wallet, issued, expires_at))
        entry_rows.append((transaction_id, issuance_account, -issued, None))
        issuance_rows.append(
            (
                reduction_id,
                transaction_id,
                participant,
                earning.methodology_code,
                earning.day,
                requested,
                issued,
                capped,
                cap.value if cap else None,
                kept,
                action.value if kept and action else None,
            )
        )
        deltas[wallet] += issued
        lines.append(
            IssueLine(
                reduction_id,
                participant,
                transaction_id,
                requested,
                issued,
                capped,
                cap,
                kept,
                action if kept else None,
            )
        )
    batch.insert_rows(conn, "ledger_transactions", transaction_rows)
    batch.insert_rows(conn, "ledger_entries", entry_rows)
    batch.insert_rows(conn, "ledger_issuances", issuance_rows)
    batch.change_wallet_balances(conn, deltas)
    return IssueResult(tuple(lines), tuple(sorted(done)))


def lock_wallets_of(conn: sa.Connection, participants: list[int]) -> dict[int, int]:
    """Lock the wallets in id order (no deadlocks between batches); participant → wallet id."""
    rows = conn.execute(
        sa.select(accounts.c.id, accounts.c.holder_id)
        .where(batch.id_list_filter(conn, accounts.c.holder_id, participants))
        .order_by(accounts.c.id)
        .with_for_update()
    ).all()
    return {row.holder_id: row.id for row in rows}


class _Rule(NamedTuple):
    """One cap in force: its limit, what it is called, and the running totals it is checked on.

    Totals are keyed by (participant, local date) for daily caps and (participant, year × 12 +
    month) for monthly ones; a methodology's rules have totals of their own.
    """

    limit: int
    cap: Cap
    monthly: bool
    totals: dict[tuple[int, Any], int]


def _rules(caps: Caps, daily: Cap, monthly: Cap) -> tuple[_Rule, ...]:
    """The caps of ``caps`` that are set, daily before monthly, each with empty totals."""
    rules = []
    if caps.daily is not None:
        rules.append(_Rule(caps.daily, daily, False, {}))
    if caps.monthly is not None:
        rules.append(_Rule(caps.monthly, monthly, True, {}))
    return tuple(rules)


class _CapCounter:
    """Running totals per participant (and methodology) per day and month: earlier batches from
    the database, then this batch as it is issued. Only the caps in force are counted."""

    def __init__(self, conn: sa.Connection, policy: LedgerPolicy, todo: list[Earning]) -> None:
        self.overall = _rules(policy.caps, Cap.DAILY, Cap.MONTHLY)
        self.by_methodology = {
            code: _rules(caps, Cap.METHODOLOGY_DAILY, Cap.METHODOLOGY_MONTHLY)
            for code, caps in policy.caps_by_methodology.items()
        }
        #: Every rule a reduction of each methodology in the batch is checked against, in order.
        self.rules = {
            code: self.overall + self.by_methodology.get(code, ())
            for code in {r.methodology_code for r in todo}
        }
        if any(self.rules.values()):
            self._load(conn, todo)

    def _load(self, conn: sa.Connection, todo: list[Earning]) -> None:
        """Earlier batches' points per participant and methodology, summed by the database: for
        each month of the batch, one row for each of the batch's days and one for the rest of
        the month, so what is read stays a few rows per participant however full the month."""
        participants = sorted({r.participant_id for r in todo})
        days = sorted({r.day for r in todo})
        for first, after in _months(days):
            on_days = [day for day in days if first <= day < after]
            day = sa.case(
                (issuances.c.activity_date.in_(on_days), issuances.c.activity_date), else_=None
            ).label("day")
            rows = conn.execute(
                sa.select(
                    issuances.c.participant_id,
                    issuances.c.methodology_code,
                    day,
                    sa.func.sum(issuances.c.issued_points + issuances.c.budget_points),
                )
                .where(
                    batch.id_list_filter(conn, issuances.c.participant_id, participants),
                    issuances.c.activity_date >= first,
                    issuances.c.activity_date < after,
                )
                .group_by(issuances.c.participant_id, issuances.c.methodology_code, day)
            )
            for participant, code, on_day, points in rows:
                by_day, by_month = _periods(participant, on_day or first)
                for rule in self.overall + self.by_methodology.get(code, ()):
                    if rule.monthly:
                        key = by_month
                    elif on_day is not None:
                        key = by_day
                    else:
                        continue
                    rule.totals[key] = rule.totals.get(key, 0) + int(points)

    def take(self, reduction: Earning, requested: int) -> tuple[int, Cap | None]:
        """Points to issue now for ``requested`` and the cap that held back the rest, if any."""
        rules = self.rules[reduction.methodology_code]
        if not rules or requested == 0:
            return requested, None
        by_day, by_month = _periods(reduction.participant_id, reduction.day)
        issued, cap = requested, None
        for rule in rules:
            so_far = rule.totals.get(by_month if rule.monthly else by_day, 0)
            if so_far + issued > rule.limit:
                issued, cap = max(0, rule.limit - so_far), rule.cap
        for rule in rules:
            key = by_month if rule.monthly else by_day
            rule.totals[key] = rule.totals.get(key, 0) + issued
        return issued, cap


def _months(days: list[date]) -> list[tuple[date, date]]:
    """The calendar months ``days`` fall in: (first day, first day of the next month)."""
    firsts = sorted({day.replace(day=1) for day in days})
    return [
        (first, date(first.year + first.month // 12, first.month % 12 + 1, 1)) for first in firsts
    ]


def _periods(participant: int, day: date) -> tuple[tuple[int, Any], tuple[int, Any]]:
    """The keys of ``day`` and of its month in the running totals."""
    return (participant, day), (participant, day.year * 12 + day.month)
