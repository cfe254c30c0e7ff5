"""Monthly settlement: what the platform owes each merchant for the points it accepted.

A month is the city's calendar month. Only redemptions that stand (not reversed) count; the
amount is points × the configured subsidy in yuan per point, rounded half-up to the fen. The
amount is then shared out over the lines in whole fen so that lines, and stores, add up to it
exactly. A bank's reward is funded by the bank itself (``funded_fen`` on the redemption): its
points earn no subsidy, and the statement shows what the bank funded instead.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.csvcells import safe_cell
from app.errors import DomainError, NotFound
from app.merchants.models import Merchant, Store
from app.redemption.models import Redemption, RedemptionStatus

_FEN = Decimal("0.01")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str | None, *, today: date) -> date:
    """``2026-11`` → the first of that month; empty → the current month."""
    if not text:
        return today.replace(day=1)
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise DomainError("invalid_month", _l("Give a month as YYYY-MM."), field="month")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The month's start and (exclusive) end as aware instants in the city's zone."""
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=zone)


def amount_owed(points: int, yuan_per_point: Decimal) -> Decimal:
    return (Decimal(points) * yuan_per_point).quantize(_FEN, rounding=ROUND_HALF_UP)


def split_amount(total: Decimal, weights: Sequence[int]) -> list[Decimal]:
    """Shares of ``total`` (whole fen) in proportion to ``weights``, adding up to it exactly.

    Rounding each share on its own would let the parts drift from the whole by a fen here and
    there. Each share is its exact part rounded down to the fen; the fen left over go one each to
    the largest remainders, the earliest first on ties. Every share is within a fen of its exact
    part, and a zero weight gets nothing.
    """
    fen = int(total.quantize(_FEN) / _FEN)
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [Decimal("0.00")] * len(weights)
    shares, remainders = [], []
    for index, weight in enumerate(weights):
        share, remainder = divmod(fen * weight, weight_sum)
        shares.append(share)
        remainders.append((-remainder, index))
    for _, index in sorted(remainders)[: fen - sum(shares)]:
        shares[index] += 1
    return [Decimal(share) * _FEN for share in shares]


@dataclass(frozen=True, slots=True)
class Line:
    redemption_id: int
    confirmed_at: datetime
    offer_title: str
    points: int
    status: RedemptionStatus
    store_id: int | None  # None for redemptions made before stores were recorded
    store_name: str
    amount_yuan: Decimal  # this line's share of the month's amount; 0 when reversed or funded
    funded_fen: int | None = None  # what the bank funded (a bank's reward), else None


@dataclass(frozen=True, slots=True)
class StoreTotal:
    """What one store's counters redeemed in the month (reversed redemptions not counted)."""

    store_id: int | None
    store_name: str
    redemptions: int
    points: int
    amount_yuan: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    merchant_id: int
    merchant_name: str
    month: date
    redemptions: int
    points: int
    amount_yuan: Decimal
    reversed: int
    lines: list[Line] = field(default_factory=list)
    by_store: list[StoreTotal] = field(default_factory=list)
    #: What the merchant (a bank) funded itself for its standing redemptions, in fen.
    funded_fen: int = 0


def statement(
    session: Session, merchant_id: int, month: date, *, zone: ZoneInfo, yuan_per_point: Decimal
) -> Statement:
    """One merchant's month, line by line (reversed redemptions listed but not paid)."""
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("merchant")
    start, end = month_bounds(month, zone)
    rows = session.execute(
        sa.select(
            Redemption.id,
            Redemption.confirmed_at,
            Redemption.offer_title,
            Redemption.points,
            Redemption.status,
            Redemption.store_id,
            sa.func.coalesce(Store.name, ""),
            Redemption.funded_fen,
        )
        .outerjoin(Store, Store.id == Redemption.store_id)
        .where(
            Redemption.merchant_id == merchant_id,
            Redemption.confirmed_at >= start,
            Redemption.confirmed_at < end,
        )
        .order_by(Redemption.confirmed_at, Redemption.id)
    ).all()
    standing = [row.status == RedemptionStatus.COMPLETED for row in rows]
    paid = [
        row.points if stands and row.funded_fen is None else 0
        for row, stands in zip(rows, standing, strict=True)
    ]
    amount = amount_owed(sum(paid), yuan_per_point)
    shares = split_amount(amount, paid)
    lines = [
        Line(*row[:7], amount_yuan=share, funded_fen=row.funded_fen)
        for row, share in zip(rows, shares, strict=True)
    ]
    redemptions = sum(standing)
    return Statement(
        merchant_id=merchant.id,
        merchant_name=merchant.name,
        month=month,
        redemptions=redemptions,
        points=sum(row.points for row, stands in zip(rows, standing, strict=True) if stands),
        amount_yuan=amount,
        reversed=len(lines) - redemptions,
        lines=lines,
        by_store=_by_store(lines),
        funded_fen=_funded(lines),
    )


def _funded(lines: Sequence[Line]) -> int:
    return sum(line.funded_fen or 0 for line in lines if line.status == RedemptionStatus.COMPLETED)


def for_stores(stmt: Statement, store_ids: Sequence[int] | None) -> Statement:
    """The part of a statement made at ``store_ids`` (a cashier's stores); all of it for None.

    Each line keeps its share of the merchant's amount, so a store's total is the same whoever
    looks, and the part adds up from its lines exactly as the whole does.
    """
    if store_ids is None:
        return stmt
    allowed = set(store_ids)
    lines = [line for line in stmt.lines if line.store_id in allowed]
    standing = [line for line in lines if line.status == RedemptionStatus.COMPLETED]
    return replace(
        stmt,
        redemptions=len(standing),
        points=sum(line.points for line in standing),
        amount_yuan=sum((line.amount_yuan for line in lines), Decimal("0.00")),
        reversed=len(lines) - len(standing),
        lines=lines,
        by_store=_by_store(lines),
        funded_fen=_funded(lines),
    )


def _by_store(lines: list[Line]) -> list[StoreTotal]:
    """Per-store subtotals of the standing lines, sorted by store name."""
    totals: dict[int | None, StoreTotal] = {}
    for line in lines:
        if line.status != RedemptionStatus.COMPLETED:
            continue
        seen = totals.get(line.store_id)
        totals[line.store_id] = StoreTotal(
            line.store_id,
            line.store_name,
            (seen.redemptions if seen else 0) + 1,
            (seen.points if seen else 0) + line.points,
            (seen.amount_yuan if seen else Decimal("0.00")) + line.amount_yuan,
        )
    return sorted(totals.values(), key=lambda total: (total.store_name, total.store_id or 0))


def statements(
    session: Session, month: date, *, zone: ZoneInfo, yuan_per_point: Decimal
) -> list[Statement]:
    """Every merchant with redemptions in the month, totals only, for the bureau."""
    start, end = month_bounds(month, zone)
    completed = Redemption.status == RedemptionStatus.COMPLETED
    subsidised = sa.and_(completed, Redemption.funded_fen.is_(None))
    rows = session.execute(
        sa.select(
            Merchant.id,
            Merchant.name,
            sa.func.sum(sa.case((completed, 1), else_=0)),
            sa.func.sum(sa.case((completed, Redemption.points), else_=0)),
            sa.func.sum(sa.case((completed, 0), else_=1)),
            sa.func.sum(sa.case((subsidised, Redemption.points), else_=0)),
            sa.func.sum(sa.case((completed, Redemption.funded_fen), else_=0)),
        )
        .join(Redemption, Redemption.merchant_id == Merchant.id)
        .where(Redemption.confirmed_at >= start, Redemption.confirmed_at < end)
        .group_by(Merchant.id, Merchant.name)
        .order_by(Merchant.name, Merchant.id)
    ).all()
    return [
        Statement(
            merchant_id=merchant_id,
            merchant_name=name,
            month=month,
            redemptions=int(count),
            points=int(points),
            amount_yuan=amount_owed(int(subsidised_points), yuan_per_point),
            reversed=int(reversed_count),
            funded_fen=int(funded or 0),
        )
        for merchant_id, name, count, points, reversed_count, subsidised_points, funded in rows
    ]


def statement_csv(stmt: Statement, zone: ZoneInfo) -> str:
    """One merchant's statement as CSV: a line per redemption, a total per store, the total."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["redemption_id", "confirmed_at_local", "store", "offer", "points", "status", "yuan"]
    )
    for line in stmt.lines:
        writer.writerow(
            [
                line.redemption_id,
                line.confirmed_at.astimezone(zone).isoformat(timespec="seconds"),
                safe_cell(line.store_name),
                safe_cell(line.offer_title),
                line.points,
                line.status.value,
                line.amount_yuan,
            ]
        )
    month = stmt.month.strftime("%Y-%m")
    for store in stmt.by_store:
        writer.writerow(["store_total", month, safe_cell(store.store_name), "", store.points,
                         f"{store.redemptions} redeemed", store.amount_yuan])  # fmt: skip
    writer.writerow(["total", month, "", safe_cell(stmt.merchant_name),
                     stmt.points, f"{stmt.redemptions} redeemed, {stmt.reversed} reversed",
                     stmt.amount_yuan])  # fmt: skip
    return out.getvalue()


def statements_csv(rows: list[Statement]) -> str:
    """All merchants' totals for the month as CSV, for the bureau's payment run."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["merchant_id", "merchant", "month", "redemptions", "reversed", "points", "yuan"]
    )
    for row in rows:
        writer.writerow(
            [
                row.merchant_id,
                safe_cell(row.merchant_name),
                row.month.strftime("%Y-%m"),
                row.redemptions,
                row.reversed,
                row.points,
                row.amount_yuan,
            ]
        )
    return out.getvalue()
