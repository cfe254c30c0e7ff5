"""Sharing a sale's proceeds back to the participants whose reductions are in the sold units.

Which grams a unit holds. A batch's lines, in reduction id order, lie end to end on one line of
grams: the line of reduction *r* covers [start, start + grams), start being the sum of the
grams before it. Unit *n* is [(n - 1) × 1 t, n × 1 t) of that line. A participant's grams in a
sale are the overlaps of their lines with the sold units, summed; a reduction can lie across two
units, and then each holds part of it.

The money, exactly. Proceeds = units × price (fen). The participants get the distributable amount
``floor(proceeds × (100 - programme percent) / 100)``; the programme keeps the rest. Each
participant gets ``floor(distributable × grams / total grams)`` fen, and the fen left over go
one each to the largest remainders of that division. Ties: the participant with more grams first,
then the lower participant id. So the shares sum to the distributable amount and each is within
one fen of its exact proportion.

Paid as points at the city's published rate (``YUAN_PER_POINT_SUBSIDY``: points = fen ÷ fen per
point, rounded down) or recorded as yuan owed, per configuration. A participant whose account is
closed gets no payment: their share is kept for the programme and recorded as kept.

One run per sale: the shares are written in one transaction, then paid in chunks, each its own
transaction; a run that stopped part way is resumed by running it again, and a finished sale is
refused a second run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import adapters, clock
from app.accounts.models import User
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, NotFound
from app.filings import sales
from app.filings.models import (
    FilingLine,
    SaleDistribution,
    SaleShare,
    UnitSale,
    UnitSaleStatus,
)
from app.filings.units import GRAMS_PER_UNIT
from app.ledger.credits import Credit, credit_many
from app.ledger.policy import LedgerPolicy
from app.reductions.models import Reduction

PAID_AS_POINTS = "points"
PAID_AS_YUAN = "yuan"
SHARE_COLUMNS = ("sale_id", "participant_id", "grams", "fen", "points", "kept", "paid")


@dataclass(frozen=True, slots=True)
class PayoutRules:
    programme_percent: Decimal
    paid_as: str
    #: The city's published rate: yuan one point is worth.
    yuan_per_point: Decimal
    policy: LedgerPolicy

    def points_for(self, fen: int) -> int:
        per_point = self.yuan_per_point * 100
        return int((Decimal(fen) / per_point).to_integral_value(rounding=ROUND_FLOOR))


def largest_remainder(total: int, weights: dict[int, int]) -> dict[int, int]:
    """``total`` split in proportion to ``weights`` in whole parts that sum to it exactly."""
    grand = sum(weights.values())
    if grand <= 0:
        return dict.fromkeys(weights, 0)
    shares, remainders = {}, {}
    for key, weight in weights.items():
        shares[key], remainders[key] = divmod(total * weight, grand)
    left = total - sum(shares.values())
    for key in sorted(weights, key=lambda k: (-remainders[k], -weights[k], k))[:left]:
        shares[key] += 1
    return shares


def contributions(session: Session, sale: UnitSale) -> dict[int, int]:
    """Each participant's grams in the sold units (see the module's first paragraph)."""
    found: dict[int, int] = defaultdict(int)
    for span in sales.spans_of(sale):
        lines = (
            sa.select(
                Reduction.participant_id.label("participant_id"),
                FilingLine.reduction_g.label("grams"),
                (
                    sa.func.sum(FilingLine.reduction_g).over(order_by=FilingLine.reduction_id)
                    - FilingLine.reduction_g
                ).label("start_g"),
            )
            .join(Reduction, Reduction.id == FilingLine.reduction_id)
            .where(FilingLine.batch_id == span.batch_id)
            .subquery()
        )
        low, high = (span.first - 1) * GRAMS_PER_UNIT, span.last * GRAMS_PER_UNIT
        end = lines.c.start_g + lines.c.grams
        overlap = sa.case((end < high, end), else_=high) - sa.case(
            (lines.c.start_g > low, lines.c.start_g), else_=low
        )
        for participant, grams in session.execute(
            sa.select(lines.c.participant_id, sa.func.sum(overlap))
            .where(lines.c.start_g < high, end > low)
            .group_by(lines.c.participant_id)
        ):
            found[participant] += int(grams)
    return dict(found)


def _closed(session: Session, participants: list[int]) -> set[int]:
    conn = session.connection()
    return set(
        session.scalars(
            sa.select(User.id).where(
                adapters.of(conn).any_of(User.id, participants), User.is_active.is_(False)
            )
        )
    )


def start(session: Session, actor: Actor, sale_id: int, rules: PayoutRules) -> SaleDistribution:
    """Write every share of an approved sale, or return the unfinished run to resume it."""
    sale = sales.get_sale(session, sale_id, lock=True)
    if sale.status is not UnitSaleStatus.APPROVED:
        raise Conflict("sale_not_approved", _l("Only an approved sale's proceeds are shared."))
    run = session.get(SaleDistribution, sale.id)
    if run is not None:
        if run.finished_at is not None:
            raise Conflict(
                "already_distributed", _l("This sale's proceeds have already been shared.")
            )
        return run
    proceeds = sale.units * sale.price_fen_per_tonne
    distributable = int(
        (Decimal(proceeds) * (100 - rules.programme_percent) / 100).to_integral_value(ROUND_FLOOR)
    )
    grams = contributions(session, sale)
    fen = largest_remainder(distributable, grams)
    closed = _closed(session, list(grams))
    rows = []
    for participant in sorted(grams):
        kept = participant in closed
        points = rules.points_for(fen[participant]) if rules.paid_as == PAID_AS_POINTS else None
        rows.append((sale.id, participant, grams[participant], fen[participant],
                     None if kept else points, kept, False))  # fmt: skip
    run = SaleDistribution(
        sale_id=sale.id, proceeds_fen=proceeds, programme_fen=proceeds - distributable,
        distributable_fen=distributable, kept_fen=sum(fen[p] for p in closed),
        contributed_g=sum(grams.values()), participants=len(grams), paid_as=rules.paid_as,
    )  # fmt: skip
    session.add(run)
    session.flush()
    conn = session.connection()
    adapters.of(conn).copy_rows(conn, SaleShare.__table__, SHARE_COLUMNS, rows)
    audit.record(
        session, actor, "sale.distributed", "unit_sale", sale.id,
        {"distributable_fen": distributable, "participants": len(grams),
         "kept_fen": run.kept_fen, "paid_as": rules.paid_as},
    )  # fmt: skip
    return run


def distribute(
    session: Session, actor: Actor, sale_id: int, rules: PayoutRules, *, chunk: int
) -> SaleDistribution:
    """The whole run in the caller's transaction (a page's or an API call's way)."""
    run = start(session, actor, sale_id, rules)
    pay_all(session, sale_id, rules, chunk=chunk)
    return run


def pay_chunk(
    session: Session, sale_id: int, rules: PayoutRules, *, limit: int, after: int = 0
) -> int | None:
    """Pay the next ``limit`` unpaid shares, of participants after ``after`` (points posted, or
    yuan owed recorded). Returns the last participant settled, to pass as ``after`` next, or
    None when none is left: the run is then marked finished.

    Shares are paid in participant order, so every share up to the last one settled is paid: a
    caller passing it on reads and marks its chunk only, never the shares paid before (``after``
    0, a resumed run, skips them once).
    """
    sale = sales.get_sale(session, sale_id, lock=True)
    run = session.get_one(SaleDistribution, sale.id)
    shares = SaleShare.__table__
    todo = session.execute(
        sa.select(shares.c.participant_id, shares.c.points, shares.c.kept)
        .where(shares.c.sale_id == sale.id, shares.c.participant_id > after, ~shares.c.paid)
        .order_by(shares.c.participant_id)
        .limit(limit)
    ).all()
    if not todo:
        run.finished_at = run.finished_at or clock.now()
        return None
    if run.paid_as == PAID_AS_POINTS:
        _post_points(session, sale.id, rules, todo)
    last = todo[-1][0]
    session.execute(
        shares.update()
        .where(
            shares.c.sale_id == sale.id,
            shares.c.participant_id > after,
            shares.c.participant_id <= last,
            ~shares.c.paid,
        )
        .values(paid=True)
    )
    return last


def _post_points(
    session: Session, sale_id: int, rules: PayoutRules, todo: Sequence[sa.Row[Any]]
) -> None:
    """Each share's points, as its own adjustment naming the sale and the participant.

    Proceeds are the buyer's money paid back at the city's published rate, not points issued
    for a reduction: they come from the adjustment account, never from the issuance account,
    and are not charged to the month's points budget. So the design's rule that every issued
    point names the verified reduction it came from (invariant 2) does not reach them, and a
    posting per reduction (a million for a large sale) would record nothing new: the share
    (``sale_shares``: sale, participant, grams) is the fact, and it leads through the sale's
    serial ranges and the batches' lines to the reductions, as the registry shows. One
    transaction per participant, not one for many wallets, so that one share can be reversed
    alone; all of a chunk's go in through the ledger's bulk path (the adapter's COPY).
    """
    memo = f"碳减排量出售收益 sale {sale_id}"
    credit_many(
        session,
        [Credit(participant, points, f"sale:{sale_id}:{participant}", sale_id, memo)
         for participant, points, kept in todo if not kept and points],
        reference_type="unit_sale", policy=rules.policy, now=clock.now(),
    )  # fmt: skip


def pay_all(session: Session, sale_id: int, rules: PayoutRules, *, chunk: int) -> None:
    """Pay every share left, ``chunk`` at a time, in the caller's transaction."""
    after: int | None = 0
    while after is not None:
        after = pay_chunk(session, sale_id, rules, limit=chunk, after=after)


@dataclass(frozen=True, slots=True)
class ShareLine:
    """What a resident sees of one sale: their kilograms, the batch, the price, their points."""

    sale: UnitSale
    share: SaleShare
    batches: list[str]
    run: SaleDistribution


def shares_of(
    session: Session, participant_id: int, *, before: int | None = None, limit: int | None = None
) -> list[ShareLine]:
    """The participant's shares, newest sale first (``limit`` of them, of sales before the sale
    ``before``), each with the batches sold."""
    stmt = (
        sa.select(SaleShare, UnitSale, SaleDistribution)
        .join(UnitSale, UnitSale.id == SaleShare.sale_id)
        .join(SaleDistribution, SaleDistribution.sale_id == SaleShare.sale_id)
        .where(SaleShare.participant_id == participant_id)
        .order_by(SaleShare.sale_id.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(SaleShare.sale_id < before)
    rows = session.execute(stmt).all()
    return [
        ShareLine(sale, share, sales.batch_serials_of(session, sale), run)
        for share, sale, run in rows
    ]


def statement_of(session: Session, participant_id: int, sale_id: int) -> ShareLine:
    """The participant's share of one sale; 404 for a sale they have no share in."""
    row = session.execute(
        sa.select(SaleShare, UnitSale, SaleDistribution)
        .join(UnitSale, UnitSale.id == SaleShare.sale_id)
        .join(SaleDistribution, SaleDistribution.sale_id == SaleShare.sale_id)
        .where(SaleShare.participant_id == participant_id, SaleShare.sale_id == sale_id)
    ).one_or_none()
    if row is None:
        raise NotFound("statement")
    share, sale, run = row
    return ShareLine(sale, share, sales.batch_serials_of(session, sale), run)


def run_of(session: Session, sale_id: int) -> SaleDistribution | None:
    return session.get(SaleDistribution, sale_id)


def shares_in(session: Session, sale_id: int, *, after: int | None, limit: int) -> list[SaleShare]:
    """A distributed sale's shares in participant order, after the participant ``after``: what
    the bureau pays the yuan owed from, and checks a distribution by (404 before it runs)."""
    if run_of(session, sale_id) is None:
        raise NotFound("distribution")
    stmt = sa.select(SaleShare).where(SaleShare.sale_id == sale_id)
    if after is not None:
        stmt = stmt.where(SaleShare.participant_id > after)
    return list(session.scalars(stmt.order_by(SaleShare.participant_id).limit(limit)))
