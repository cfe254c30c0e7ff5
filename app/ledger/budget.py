"""The city's monthly points budget: what a month may issue, and what happens beyond it.

Every point issued in a local calendar month is charged to that month's budget (a month without
one has no limit). An issuance batch asks its month for the points its lines earn after the caps,
in one statement that locks the month's row, grants what is left and records it (the adapter's
``reserve_budget``), so concurrent batches together never exceed the budget. When less is left
than asked, the grant is shared among the batch's lines in proportion to their points
(:func:`split`, exact whole points) and the rest follows the city's policy:

- **defer**: the rest waits for the next months' budgets. A later month's run
  (:func:`release_deferred`) issues it first, oldest first, before new credits may use that
  month's budget (they see the points still owed and leave room for them); what that month
  cannot cover either is carried on to the next.
- **scale**: the rest is not issued: the month's remaining credits are scaled down pro rata.

Either way the issuance row records the points and why, so the resident sees it on the activity,
and the month records when the charged points first reached the warning share of its budget.
Released points are an issue transaction of their own that names the reduction, as every issue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import adapters
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Checks, DomainError
from app.ledger import batch
from app.ledger.accounts import system_account_id
from app.ledger.models import (
    Account,
    AccountType,
    BudgetAction,
    BudgetMonth,
    BudgetRelease,
    Entry,
    Issuance,
    Transaction,
    TransactionKind,
)
from app.ledger.policy import BudgetPolicy, LedgerPolicy
from app.ledger.postings import fingerprint

months = BudgetMonth.__table__
releases = BudgetRelease.__table__
issuances = Issuance.__table__
accounts = Account.__table__
transactions = Transaction.__table__
entries = Entry.__table__

#: The largest budget a month may be given: far beyond any city, well inside a BIGINT.
MAX_BUDGET = 10**15


class Reservation(NamedTuple):
    """What a month's budget granted one batch: ``granted`` of the points asked for."""

    budget: int
    before: int  # points charged to the month before this batch
    granted: int


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def split(total: int, weights: Sequence[int]) -> list[int]:
    """Whole shares of ``total`` in proportion to ``weights``, adding up to it exactly.

    Each share is its exact part rounded down; the points left over go one each to the largest
    remainders, the earliest line first on ties. So every share is within one point of its exact
    part and never above its weight (``total`` is at most the weights' sum).
    """
    weight_sum = sum(weights)
    if not 0 <= total <= weight_sum:
        raise ValueError(f"cannot share {total} over weights summing to {weight_sum}")
    if total == weight_sum:
        return list(weights)
    shares, remainders = [], []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, weight_sum)
        shares.append(share)
        remainders.append((-remainder, index))
    for _, index in sorted(remainders)[: total - sum(shares)]:
        shares[index] += 1
    return shares


def reserve(
    conn: sa.Connection, requested: int, *, policy: LedgerPolicy, now: datetime
) -> Reservation | None:
    """Charge up to ``requested`` points to the budget of ``now``'s month (None: it has none).

    One statement, holding the month's row lock to the end of the transaction. The room is the
    budget less what is charged and less the points earlier months still owe (deferred, not yet
    released); the points not granted are counted as deferred or scaled away, per the policy.
    """
    if requested == 0:
        return None
    row = adapters.of(conn).reserve_budget(
        conn,
        month=month_of(policy.local_date(now)),
        requested=requested,
        defer=policy.budget_policy == BudgetPolicy.DEFER,
        warn_percent=policy.budget_warn_percent,
        now=now,
    )
    return None if row is None else Reservation(*row)


def held_back(
    requested: Sequence[int], reservation: Reservation | None, policy: LedgerPolicy
) -> tuple[list[int], BudgetAction | None]:
    """Per line, the points the budget could not cover, and what happens to them."""
    total = sum(requested)
    if reservation is None or reservation.granted == total:
        return [0] * len(requested), None
    granted = split(reservation.granted, requested)
    deferring = policy.budget_policy == BudgetPolicy.DEFER
    action = BudgetAction.DEFERRED if deferring else BudgetAction.SCALED
    return [asked - given for asked, given in zip(requested, granted, strict=True)], action


# -- the bureau sets a month's budget ------------------------------------------------------------


def check_month(value: object) -> date:
    """``YYYY-MM`` as the first day of that month."""
    if isinstance(value, date):
        return month_of(value)
    text = value.strip() if isinstance(value, str) else ""
    try:
        year, month = (int(part) for part in text.split("-"))
        if len(text) != 7 or not 2000 <= year <= 9999:
            raise ValueError(text)
        return date(year, month, 1)
    except ValueError:
        raise DomainError(
            "invalid_month", _l("Give the month as YYYY-MM, e.g. 2027-01."), field="month"
        ) from None


def set_budget(
    session: Session,
    actor: Actor,
    *,
    month: object,
    points: object,
    policy: LedgerPolicy,
    now: datetime,
) -> BudgetMonth:
    """Set (or change) a month's budget, this month or a later one; audited.

    Refused, with nothing written: a past month, a number that is not a whole number of points
    from 0 to ``MAX_BUDGET``, or fewer points than the month has already issued.
    """
    checks = Checks()  # the month and the points are refused together
    with checks.check():
        first = check_month(month)
        if first < month_of(policy.local_date(now)):
            raise DomainError(
                "budget_month_past", _l("A past month's budget cannot be changed."), field="month"
            )
    with checks.check():
        if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= MAX_BUDGET:
            raise DomainError(
                "invalid_budget",
                _l(
                    "The budget must be a whole number of points from 0 to %(most)s.",
                    most=MAX_BUDGET,
                ),
                field="points",
            )
    checks.refuse()
    row = session.execute(
        sa.select(BudgetMonth).where(BudgetMonth.month == first).with_for_update()
    ).scalar_one_or_none()
    issued = row.issued_points if row is not None else _issued_between(
        session, policy.month_start(first), policy.month_start(next_month(first))
    )  # fmt: skip
    if points < issued:
        raise DomainError(
            "budget_below_issued",
            _l(
                "%(month)s has already issued %(issued)s points: its budget cannot be lower.",
                month=f"{first:%Y-%m}",
                issued=f"{issued:,}",
            ),
            field="points",
            status=409,
            details={"issued_points": issued},
        )
    before = None if row is None else row.budget_points
    if row is None:
        row = BudgetMonth(
            month=first, issued_points=issued, deferred_points=0, passed_on_points=0,
            scaled_points=0,
        )  # fmt: skip
        session.add(row)
    row.budget_points = points
    row.set_by_id = actor.user_id
    row.updated_at = now
    if row.issued_points * 100 < points * policy.budget_warn_percent:
        row.warned_at = None  # below the threshold again: warn afresh when it is reached
    elif row.warned_at is None:
        row.warned_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "ledger.budget",
        "budget_month",
        f"{first:%Y-%m}",
        {"budget_points": points, "previous": before},
    )
    return row


def _issued_between(session: Session, start: datetime, end: datetime) -> int:
    """Points the issuance account gave out in [start, end): a month's points issued before it
    had a budget count against the budget it is given."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(entries.c.amount), 0))
        .join(transactions, transactions.c.id == entries.c.transaction_id)
        .join(accounts, accounts.c.id == entries.c.account_id)
        .where(
            accounts.c.type == AccountType.ISSUANCE,
            transactions.c.created_at >= start,
            transactions.c.created_at < end,
        )
    )
    return -int(total or 0)


# -- deferred points are released from a later month's budget ------------------------------------


@dataclass(frozen=True, slots=True)
class ReleaseRun:
    month: date
    reductions: int
    points: int
    carried_on: int  # points still owed after this month's budget was used up


def release_deferred(session: Session, *, policy: LedgerPolicy, now: datetime) -> ReleaseRun:
    """Issue the deferred points earlier months still owe from ``now``'s month's budget, oldest
    deferral first (a deferral may be issued in parts); carry on what does not fit.

    Idempotent: a second run finds nothing owed. Locks are taken in an order issuance batches
    share (earlier months' rows, which batches never lock; wallets by id; this month's row), so
    the run and the month's batches never deadlock and decide one after another.
    """
    month = month_of(policy.local_date(now))
    session.flush()
    conn = session.connection()
    owing = conn.execute(
        sa.select(months.c.month, months.c.deferred_points - months.c.passed_on_points)
        .where(months.c.month < month, months.c.deferred_points > months.c.passed_on_points)
        .order_by(months.c.month)
        .with_for_update()
    ).all()
    owed = {earlier: int(points) for earlier, points in owing}
    if not owed:
        return ReleaseRun(month, 0, 0, 0)
    pending = _oldest_first(conn, before=policy.month_start(month))
    wallets = _lock_wallets(conn, sorted({participant for _, participant, _ in pending}))
    budget = conn.execute(
        sa.select(months.c.budget_points - months.c.issued_points)
        .where(months.c.month == month)
        .with_for_update()
    ).scalar_one_or_none()
    total = sum(owed.values())
    room = total if budget is None else min(int(budget), total)
    parts = []
    for reduction_id, participant, points in pending:
        if room <= 0:
            break
        parts.append((reduction_id, participant, min(points, room)))
        room -= parts[-1][2]
    released = sum(points for _, _, points in parts)
    _issue(conn, parts, wallets, month, policy, now)
    for earlier, points in owed.items():
        conn.execute(
            months.update()
            .where(months.c.month == earlier)
            .values(passed_on_points=months.c.passed_on_points + points)
        )
    carried = total - released
    if budget is not None:
        conn.execute(
            months.update()
            .where(months.c.month == month)
            .values(
                issued_points=months.c.issued_points + released,
                deferred_points=months.c.deferred_points + carried,
            )
        )
    return ReleaseRun(month, len(parts), released, carried)


def _oldest_first(conn: sa.Connection, *, before: datetime) -> list[tuple[int, int, int]]:
    """(reduction, participant, points still owed) of the deferrals made before ``before``,
    oldest first."""
    released = (
        sa.select(releases.c.reduction_id, sa.func.sum(releases.c.points).label("points"))
        .group_by(releases.c.reduction_id)
        .subquery()
    )
    owed = issuances.c.budget_points - sa.func.coalesce(released.c.points, 0)
    rows = conn.execute(
        sa.select(issuances.c.reduction_id, issuances.c.participant_id, owed)
        .join(transactions, transactions.c.id == issuances.c.transaction_id)
        .outerjoin(released, released.c.reduction_id == issuances.c.reduction_id)
        .where(
            issuances.c.budget_action == BudgetAction.DEFERRED,
            transactions.c.created_at < before,
            owed > 0,
        )
        .order_by(issuances.c.transaction_id)
    )
    return [(reduction_id, participant, int(points)) for reduction_id, participant, points in rows]


def _lock_wallets(conn: sa.Connection, holders: list[int]) -> dict[int, int]:
    """Lock the holders' wallets in id order, as issuance batches do; holder → wallet id."""
    return dict(
        conn.execute(
            sa.select(accounts.c.holder_id, accounts.c.id)
            .where(batch.id_list_filter(conn, accounts.c.holder_id, holders))
            .order_by(accounts.c.id)
            .with_for_update()
        ).all()
    )


def _issue(
    conn: sa.Connection,
    parts: list[tuple[int, int, int]],
    wallets: dict[int, int],
    month: date,
    policy: LedgerPolicy,
    now: datetime,
) -> None:
    """One issue transaction per released part, naming its reduction, in a few statements."""
    if not parts:
        return
    issuance_account = system_account_id(conn, AccountType.ISSUANCE)
    expires_at = policy.expires_at(now)
    kind = TransactionKind.ISSUE.value
    transaction_rows, entry_rows, release_rows = [], [], []
    deltas: dict[int, int] = defaultdict(int)
    ids = batch.allocate_transaction_ids(conn, len(parts))
    for (reduction_id, participant, points), transaction_id in zip(parts, ids, strict=True):
        wallet = wallets[participant]
        transaction_rows.append(
            (
                transaction_id,
                kind,
                f"release:{reduction_id}:{month:%Y-%m}",
                fingerprint(kind, reduction_id, participant, points, f"{month:%Y-%m}"),
                "reduction",
                reduction_id,
                f"{month:%Y-%m}",
                now,
            )
        )
        entry_rows.append((transaction_id, wallet, points, expires_at))
        entry_rows.append((transaction_id, issuance_account, -points, None))
        release_rows.append({"reduction_id": reduction_id, "month": month,
                             "transaction_id": transaction_id, "points": points})  # fmt: skip
        deltas[wallet] += points
    batch.insert_rows(conn, "ledger_transactions", transaction_rows)
    batch.insert_rows(conn, "ledger_entries", entry_rows)
    conn.execute(releases.insert(), release_rows)
    batch.change_wallet_balances(conn, deltas)
