"""Issuing points for verified reductions, in batches, with the city's daily and monthly caps.

One issue transaction per reduction (wallet +points, issuance −points), written in a few
statements per batch. Caps count by the activity's local date in the city's time zone: overall and
per methodology, per day and per calendar month. The part above a cap is not issued; it is
recorded on the reduction's issuance row, so the resident sees it. The batch locks the wallets it
credits (in id order, so two batches never deadlock) before it reads what was already issued, so
concurrent batches cannot together exceed a cap or issue a reduction twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.errors import DomainError
from app.ledger import batch
from app.ledger.models import Account, AccountType, Cap, Issuance, TransactionKind
from app.ledger.policy import Caps, LedgerPolicy
from app.ledger.postings import ensure_wallets, fingerprint, system_account_id
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction, ReductionStatus

accounts = Account.__table__
issuances = Issuance.__table__
reductions = Reduction.__table__
versions = MethodologyVersion.__table__


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


@dataclass(frozen=True, slots=True)
class _Reduction:
    id: int
    participant_id: int
    grams: int
    occurred_at: datetime
    methodology_code: str


def issue_points(
    session: Session,
    reduction_ids: Iterable[int],
    *,
    policy: LedgerPolicy,
    now: datetime | None = None,
) -> IssueResult:
    """Issue points for verified reductions, each at most once, in the caller's transaction.

    Refuses the whole batch (nothing written) if a reduction is unknown or not verified.
    """
    ids = sorted(set(reduction_ids))
    if not ids:
        return IssueResult((), ())
    now = now or clock.now()
    session.flush()  # reductions the caller added in this session must be visible to SQL
    conn = session.connection()
    found = _load_reductions(conn, ids)
    participants = sorted({r.participant_id for r in found})
    wallets = _lock_wallets(conn, participants)
    new = [p for p in participants if p not in wallets]
    if new:  # a first credit: open the wallets (their ids come after every locked one)
        ensure_wallets(conn, new, now)
        wallets.update(_lock_wallets(conn, new))
    done = set(
        conn.execute(
            sa.select(issuances.c.reduction_id).where(
                batch.id_list_filter(conn, issuances.c.reduction_id, ids)
            )
        ).scalars()
    )
    todo = sorted(
        (r for r in found if r.id not in done),
        key=lambda r: (r.participant_id, r.occurred_at, r.id),
    )
    if not todo:
        return IssueResult((), tuple(sorted(done)))
    counter = _CapCounter(conn, policy, todo)
    transaction_ids = batch.allocate_transaction_ids(conn, len(todo))
    issuance_account = system_account_id(conn, AccountType.ISSUANCE)
    expires_at = policy.expires_at(now)
    transaction_rows, entry_rows, issuance_rows, lines = [], [], [], []
    deltas: dict[int, int] = defaultdict(int)
    for reduction, transaction_id in zip(todo, transaction_ids, strict=True):
        requested = policy.points_for(reduction.grams)
        day = policy.local_date(reduction.occurred_at)
        issued, cap = counter.take(reduction, day, requested)
        wallet = wallets[reduction.participant_id]
        transaction_rows.append(
            (
                transaction_id,
                TransactionKind.ISSUE.value,
                f"issue:{reduction.id}",
                fingerprint(TransactionKind.ISSUE, reduction.id, reduction.participant_id, issued),
                "reduction",
                reduction.id,
                "",
                now,
            )
        )
        entry_rows.append((transaction_id, wallet, issued, expires_at))
        entry_rows.append((transaction_id, issuance_account, -issued, None))
        issuance_rows.append(
            (
                reduction.id,
                transaction_id,
                reduction.participant_id,
                reduction.methodology_code,
                day,
                requested,
                issued,
                requested - issued,
                cap.value if cap else None,
            )
        )
        deltas[wallet] += issued
        lines.append(
            IssueLine(
                reduction.id,
                reduction.participant_id,
                transaction_id,
                requested,
                issued,
                requested - issued,
                cap,
            )
        )
    batch.insert_rows(conn, "ledger_transactions", transaction_rows)
    batch.insert_rows(conn, "ledger_entries", entry_rows)
    batch.insert_rows(conn, "ledger_issuances", issuance_rows)
    batch.change_wallet_balances(conn, deltas)
    return IssueResult(tuple(lines), tuple(sorted(done)))


def _load_reductions(conn: sa.Connection, ids: list[int]) -> list[_Reduction]:
    rows = conn.execute(
        sa.select(
            reductions.c.id,
            reductions.c.participant_id,
            reductions.c.reduction_g,
            reductions.c.occurred_at,
            reductions.c.status,
            versions.c.code,
        )
        .join(versions, versions.c.id == reductions.c.methodology_version_id)
        .where(batch.id_list_filter(conn, reductions.c.id, ids))
    ).all()
    missing = set(ids) - {row.id for row in rows}
    if missing:
        raise DomainError(
            "reduction_not_found",
            _l("Unknown reductions: %(ids)s.", ids=", ".join(map(str, sorted(missing)[:20]))),
            status=404,
        )
    unverified = sorted(row.id for row in rows if row.status != ReductionStatus.VERIFIED)
    if unverified:
        raise DomainError(
            "reduction_not_verified",
            _l(
                "Only verified reductions earn points; not verified: %(ids)s.",
                ids=", ".join(map(str, unverified[:20])),
            ),
        )
    return [
        _Reduction(row.id, row.participant_id, row.reduction_g, row.occurred_at, row.code)
        for row in rows
    ]


def _lock_wallets(conn: sa.Connection, participants: list[int]) -> dict[int, int]:
    """Lock the wallets in id order (no deadlocks between batches); participant → wallet id."""
    rows = conn.execute(
        sa.select(accounts.c.id, accounts.c.holder_id)
        .where(batch.id_list_filter(conn, accounts.c.holder_id, participants))
        .order_by(accounts.c.id)
        .with_for_update()
    ).all()
    return {row.holder_id: row.id for row in rows}


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


class _CapCounter:
    """Running totals per participant (and methodology) per day and month: earlier batches from
    the database, then this batch as it is issued."""

    def __init__(self, conn: sa.Connection, policy: LedgerPolicy, todo: list[_Reduction]) -> None:
        self.policy = policy
        self.day: dict[tuple[int, date], int] = defaultdict(int)
        self.month: dict[tuple[int, tuple[int, int]], int] = defaultdict(int)
        self.method_day: dict[tuple[int, date, str], int] = defaultdict(int)
        self.method_month: dict[tuple[int, tuple[int, int], str], int] = defaultdict(int)
        self.active = policy.caps != Caps() or any(
            caps != Caps() for caps in policy.caps_by_methodology.values()
        )
        if self.active:
            self._load(conn, todo)

    def _load(self, conn: sa.Connection, todo: list[_Reduction]) -> None:
        days = [self.policy.local_date(r.occurred_at) for r in todo]
        first = min(days).replace(day=1)
        last = max(days)
        after_last = date(last.year + last.month // 12, last.month % 12 + 1, 1)
        participants = sorted({r.participant_id for r in todo})
        rows = conn.execute(
            sa.select(
                issuances.c.participant_id,
                issuances.c.activity_date,
                issuances.c.methodology_code,
                sa.func.sum(issuances.c.issued_points),
            )
            .where(
                batch.id_list_filter(conn, issuances.c.participant_id, participants),
                issuances.c.activity_date >= first,
                issuances.c.activity_date < after_last,
            )
            .group_by(
                issuances.c.participant_id,
                issuances.c.activity_date,
                issuances.c.methodology_code,
            )
        )
        for participant, day, code, points in rows:
            self._add(participant, day, code, int(points))

    def _add(self, participant: int, day: date, code: str, points: int) -> None:
        month = _month(day)
        self.day[participant, day] += points
        self.month[participant, month] += points
        self.method_day[participant, day, code] += points
        self.method_month[participant, month, code] += points

    def take(self, reduction: _Reduction, day: date, requested: int) -> tuple[int, Cap | None]:
        """Points to issue now for ``requested`` and the cap that held back the rest, if any."""
        if not self.active or requested == 0:
            return requested, None
        participant, code, month = reduction.participant_id, reduction.methodology_code, _month(day)
        method = self.policy.caps_by_methodology.get(code, Caps())
        room: list[tuple[int | None, int, Cap]] = [
            (self.policy.caps.daily, self.day[participant, day], Cap.DAILY),
            (self.policy.caps.monthly, self.month[participant, month], Cap.MONTHLY),
            (method.daily, self.method_day[participant, day, code], Cap.METHODOLOGY_DAILY),
            (method.monthly, self.method_month[participant, month, code], Cap.METHODOLOGY_MONTHLY),
        ]
        issued, cap = requested, None
        for limit, used, which in room:
            if limit is not None and used + issued > limit:
                issued, cap = max(0, limit - used), which
        self._add(participant, day, code, issued)
        return issued, cap
