"""Expiry of points, oldest lots first, computed from sums so debits never touch lots.

Each wallet credit carries its ``expires_at``. Spending takes the points that expire soonest
first, so of the credits expiring at or before T the part still in the wallet is

    max(0, balance − credits expiring after T)

(what remains after every outflow is taken from the earliest lots). Reversing a credit repeats
its ``expires_at`` with the opposite amount, so that lot shrinks; points given back by reversing
a debit have no expiry of their own and refill the earliest lots. Nothing is stored per lot, and a
debit stays one conditional UPDATE.

So after a complete run, a wallet can only come to hold points to expire when one of its lots
passes or points without an expiry come back to it: a run told when the previous one happened
examines just those wallets, not every wallet that ever held a lot that has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters
from app.ledger import batch
from app.ledger.models import Account, AccountType, Entry, Transaction, TransactionKind
from app.ledger.policy import LedgerPolicy, valid_until
from app.ledger.postings import fingerprint, system_account_id

accounts = Account.__table__
entries = Entry.__table__
transactions = Transaction.__table__

#: How far before the previous run a run told of it looks: longer than any transaction takes, so
#: points given back by a transaction that began before that run read the ledger, but committed
#: after, are still seen.
LOOK_BACK = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ExpiringLot:
    """``points`` of a wallet stop being valid at ``expires_at`` (last usable day: ``until``)."""

    expires_at: datetime
    until: date
    points: int


@dataclass(frozen=True, slots=True)
class ExpiryRun:
    wallets: int
    points: int
    #: Pass as ``after_wallet_id`` for the next chunk; None when every wallet was seen.
    next_after: int | None


@dataclass(frozen=True, slots=True)
class ExpiringWallet:
    holder_id: int
    wallet_id: int
    points: int
    first_expires_at: datetime


@dataclass(frozen=True, slots=True)
class ExpiringPage:
    items: list[ExpiringWallet]
    next_after: int | None


def _credits(account: sa.ColumnElement[int]) -> sa.Select[tuple[int]]:
    """The sum of the account's entries (as a whole number on every backend)."""
    total = sa.cast(sa.func.coalesce(sa.func.sum(entries.c.amount), 0), sa.BigInteger)
    return sa.select(total).where(entries.c.account_id == account)


def upcoming_expiries(
    session: Session, wallet_id: int, balance: int, *, now: datetime, policy: LedgerPolicy
) -> list[ExpiringLot]:
    """When the wallet's points expire, soonest first (points overdue for the next run count as
    expiring now)."""
    groups = session.execute(
        sa.select(entries.c.expires_at, sa.func.sum(entries.c.amount))
        .where(entries.c.account_id == wallet_id, entries.c.expires_at > now)
        .group_by(entries.c.expires_at)
        .order_by(entries.c.expires_at)
    ).all()
    later = sum(int(points) for _, points in groups)
    alive = max(0, balance - later)
    lots = [ExpiringLot(now, valid_until(now, policy.zone), alive)] if alive else []
    for expires_at, points in groups:
        later -= int(points)
        alive_through = max(0, balance - later)
        if alive_through > alive:
            lots.append(
                ExpiringLot(expires_at, valid_until(expires_at, policy.zone), alive_through - alive)
            )
        alive = alive_through
    return lots


def expire_points(
    session: Session,
    *,
    now: datetime,
    policy: LedgerPolicy,
    after_wallet_id: int = 0,
    limit: int = 500,
    previous_run: datetime | None = None,
) -> ExpiryRun:
    """Post the expiry of every point whose lot expired by ``now``, for up to ``limit`` wallets
    with ids above ``after_wallet_id``.

    ``previous_run`` is when the last complete run started, if there was one: then only wallets
    with a lot that passed since, or points without an expiry given back since, are examined.

    Only wallets that hold points of a passed lot are locked (a wallet that spent or already
    expired them is left alone, however old its lots), and only while their chunk runs; the edge
    commits each chunk and calls again with ``next_after`` until it is None, so a year-end run
    never holds every wallet at once. Running again over the same state posts nothing: the
    points are gone. Each transaction's key names the wallet, the latest lot instant passed and
    the wallet's last transaction.
    """
    conn = session.connection()
    # The planner's estimate for the per-wallet sums is high enough to switch on JIT compilation,
    # which takes longer (about half a second a chunk) than the index lookups it would speed up.
    adapters.of(conn).without_jit(conn)
    conditions = [
        accounts.c.type == AccountType.WALLET,
        accounts.c.balance > 0,
        accounts.c.id > after_wallet_id,
        sa.exists().where(entries.c.account_id == accounts.c.id, entries.c.expires_at <= now),
    ]
    if previous_run is not None:
        conditions.append(_changed_since(previous_run - LOOK_BACK, now))
    held_beyond_later_lots = (
        accounts.c.balance
        > _credits(accounts.c.id).where(entries.c.expires_at > now).scalar_subquery()
    )
    locked = list(
        conn.execute(
            sa.select(accounts.c.id)
            .where(*conditions, held_beyond_later_lots)
            .order_by(accounts.c.id)
            .limit(limit)
            .with_for_update()
        ).scalars()
    )
    if not locked:
        return ExpiryRun(0, 0, None)
    account = accounts.c.id
    # Read after the locks are held: balances and credits are now consistent with each other.
    rows = conn.execute(
        sa.select(
            account,
            accounts.c.balance,
            _credits(account).where(entries.c.expires_at > now).scalar_subquery(),
            sa.select(sa.func.max(entries.c.expires_at))
            .where(entries.c.account_id == account, entries.c.expires_at <= now)
            .scalar_subquery(),
            sa.select(sa.func.max(entries.c.transaction_id))
            .where(entries.c.account_id == account)
            .scalar_subquery(),
        ).where(batch.id_list_filter(conn, account, locked))
    ).all()
    expiring = [(row[0], row[1] - row[2], row[3], row[4]) for row in rows if row[1] > row[2]]
    next_after = locked[-1] if len(locked) == limit else None
    if not expiring:
        return ExpiryRun(0, 0, next_after)
    expiry_account = system_account_id(conn, AccountType.EXPIRY)
    transaction_ids = batch.allocate_transaction_ids(conn, len(expiring))
    transaction_rows, entry_rows, deltas = [], [], {}
    for (wallet, points, passed, last_transaction), transaction_id in zip(
        expiring, transaction_ids, strict=True
    ):
        instant = passed.strftime("%Y%m%dT%H%M%SZ")
        transaction_rows.append(
            (
                transaction_id,
                TransactionKind.EXPIRE.value,
                f"expire:{wallet}:{instant}:{last_transaction}",
                fingerprint(TransactionKind.EXPIRE, wallet, points, instant, last_transaction),
                "expiry",
                None,
                valid_until(passed, policy.zone).isoformat(),
                now,
            )
        )
        entry_rows.append((transaction_id, wallet, -points, None))
        entry_rows.append((transaction_id, expiry_account, points, None))
        deltas[wallet] = -points
    batch.insert_rows(conn, "ledger_transactions", transaction_rows)
    batch.insert_rows(conn, "ledger_entries", entry_rows)
    batch.change_wallet_balances(conn, deltas)
    return ExpiryRun(len(expiring), sum(-d for d in deltas.values()), next_after)


def _changed_since(start: datetime, now: datetime) -> sa.ColumnElement[bool]:
    """The wallet has a lot that passed after ``start``, or was given points without an expiry
    (a reversed debit or expiry) by a transaction written after ``start``."""
    lot_passed = sa.exists().where(
        entries.c.account_id == accounts.c.id,
        entries.c.expires_at > start,
        entries.c.expires_at <= now,
    )
    given_back = (
        sa.select(entries.c.account_id)
        .join(transactions, transactions.c.id == entries.c.transaction_id)
        .where(
            transactions.c.created_at > start,
            entries.c.amount > 0,
            entries.c.expires_at.is_(None),
        )
    )
    return sa.or_(lot_passed, accounts.c.id.in_(given_back))


def expiring_soon(
    session: Session,
    *,
    now: datetime,
    within: timedelta,
    after_wallet_id: int = 0,
    limit: int = 1000,
) -> ExpiringPage:
    """Wallets with points that expire within ``within`` of ``now`` (for reminders), by wallet id.

    ``points`` counts everything valid now that will be gone by ``now + within``.
    """
    horizon = now + within
    account = accounts.c.id
    in_window = sa.and_(
        entries.c.account_id == account, entries.c.expires_at > now, entries.c.expires_at <= horizon
    )
    rows = session.execute(
        sa.select(
            account,
            accounts.c.holder_id,
            accounts.c.balance,
            _credits(account).where(entries.c.expires_at > horizon).scalar_subquery(),
            sa.select(sa.func.min(entries.c.expires_at)).where(in_window).scalar_subquery(),
        )
        .where(
            accounts.c.type == AccountType.WALLET,
            accounts.c.balance > 0,
            account > after_wallet_id,
            sa.exists().where(in_window),
        )
        .order_by(account)
        .limit(limit)
    ).all()
    items = [
        ExpiringWallet(holder, wallet, balance - later, first)
        for wallet, holder, balance, later, first in rows
        if balance > later
    ]
    return ExpiringPage(items, rows[-1][0] if len(rows) == limit else None)
