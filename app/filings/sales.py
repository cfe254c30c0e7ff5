"""Pooled sales (集中出售) of active units, recorded by the bureau with two-person approval.

One bureau colleague records the trade (buyer, serial ranges, price per tonne, date, the
exchange's reference); a different colleague approves it, never one who created the other's
account, or whose account the other created, recently (:func:`app.accounts.approvals.
related_recently`). Only the approval marks the units sold, after checking again that every one
of them is still active. Every step is audited.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts.approvals import Independence, related_recently
from app.accounts.models import User
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound
from app.filings import units
from app.filings.models import FilingBatch, UnitIssuance, UnitSale, UnitSaleStatus, UnitState

TEXT_MAX = 128
#: Serial ranges one sale may name.
RANGES_MAX = 100
#: The highest price per tonne, in fen (below 10 trillion yuan).
PRICE_MAX_FEN = 10**15 - 1
#: Yuan as typed: digits and at most 2 decimals, checked before any arithmetic (no overflow).
PRICE_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
_YUAN = re.compile(PRICE_PATTERN)


def parse_price(text: str) -> int:
    """Yuan per tonne as typed (at most 2 decimals) to whole fen; zero or less is refused."""
    text = (text or "").strip()
    fen = int(Decimal(text) * 100) if _YUAN.fullmatch(text) else 0
    if not 0 < fen <= PRICE_MAX_FEN:
        raise DomainError(
            "invalid_price",
            _l("Enter the price per tonne in yuan, above zero, with at most 2 decimals."),
            field="price",
        )
    return int(fen)


def _text(value: str, field: str, message: object) -> str:
    value = (value or "").strip()
    if not value or len(value) > TEXT_MAX:
        raise DomainError(f"invalid_{field}", message, field=field)  # type: ignore[arg-type]
    return value


def _spans(session: Session, serials: list[str]) -> list[units.Span]:
    serials = [text for text in serials if (text or "").strip()]
    if not serials or len(serials) > RANGES_MAX:
        raise DomainError(
            "invalid_ranges", _l("Name the serial ranges sold (up to 100)."), field="ranges"
        )
    return units.require_disjoint([units.parse(session, text, field="ranges") for text in serials])


def request_sale(
    session: Session,
    actor: Actor,
    *,
    buyer: str,
    price_fen_per_tonne: int,
    sold_on: date,
    exchange_reference: str,
    serials: list[str],
) -> UnitSale:
    """Record a trade of active units; they stay active until a second colleague approves."""
    buyer = _text(buyer, "buyer", _l("Enter the buyer (up to 128 characters)."))
    reference = _text(
        exchange_reference, "exchange_reference",
        _l("Enter the exchange's reference (up to 128 characters)."),
    )  # fmt: skip
    if not 0 < price_fen_per_tonne <= PRICE_MAX_FEN:
        raise DomainError("invalid_price", _l("The price must be above zero."), field="price")
    spans = _spans(session, serials)
    units.lock_batches(session, [span.batch_id for span in spans])
    units.check_active(session, spans)
    sale = UnitSale(
        buyer=buyer, price_fen_per_tonne=price_fen_per_tonne, sold_on=sold_on,
        exchange_reference=reference, ranges=[[s.batch_id, s.first, s.last] for s in spans],
        units=sum(span.units for span in spans), requested_by_id=actor.user_id,
    )  # fmt: skip
    session.add(sale)
    session.flush()
    audit.record(
        session, actor, "sale.requested", "unit_sale", sale.id,
        {"buyer": buyer, "units": sale.units, "price_fen_per_tonne": price_fen_per_tonne,
         "exchange_reference": reference, "ranges": sale.ranges},
    )  # fmt: skip
    return sale


def spans_of(sale: UnitSale) -> list[units.Span]:
    return [units.Span(batch_id, first, last) for batch_id, first, last in sale.ranges]


def serials_of(session: Session, sale: UnitSale) -> list[str]:
    """The serial ranges the sale names, as the registry writes them."""
    prefixes = dict(
        session.execute(
            sa.select(UnitIssuance.batch_id, UnitIssuance.prefix).where(
                UnitIssuance.batch_id.in_({span.batch_id for span in spans_of(sale)})
            )
        ).all()
    )
    return [units.serial(prefixes[s.batch_id], s.first, s.last) for s in spans_of(sale)]


def batch_serials_of(session: Session, sale: UnitSale) -> list[str]:
    """The filing batches the sold units come from, in batch order."""
    batch_ids = sorted({span.batch_id for span in spans_of(sale)})
    return list(
        session.scalars(
            sa.select(FilingBatch.serial)
            .where(FilingBatch.id.in_(batch_ids))
            .order_by(FilingBatch.id)
        )
    )


def get_sale(session: Session, sale_id: int, *, lock: bool = False) -> UnitSale:
    stmt = sa.select(UnitSale).where(UnitSale.id == sale_id)
    sale = session.scalar(stmt.with_for_update() if lock else stmt)
    if sale is None:
        raise NotFound("sale")
    return sale


def decision_refusal(
    session: Session, user_id: int | None, sale: UnitSale, independence: Independence
) -> tuple[str, Any] | None:
    """Why this colleague may not decide the sale (reason code and message), or None when they
    may: the decision refuses with it, and the sales page shows no buttons for it."""
    if user_id is None or user_id == sale.requested_by_id:
        return "own_request", _l("You recorded this sale: another colleague must approve it.")
    decider = session.get_one(User, user_id)
    if related_recently(decider, session.get_one(User, sale.requested_by_id), independence):
        return "not_independent", _l(
            "You created the account that recorded this sale, or it created yours, too "
            "recently: another colleague must approve it."
        )
    return None


def decide_sale(
    session: Session, actor: Actor, sale_id: int, *, approve: bool, independence: Independence
) -> UnitSale:
    """Approve (the units become sold) or refuse a recorded sale, as a second colleague."""
    sale = get_sale(session, sale_id, lock=True)
    if sale.status is not UnitSaleStatus.REQUESTED:
        raise Conflict("already_decided", _l("This sale has already been decided."))
    refusal = decision_refusal(session, actor.user_id, sale, independence)
    if refusal is not None:
        raise DomainError(*refusal, status=403)
    now = clock.now()
    if approve:
        spans = spans_of(sale)
        units.lock_batches(session, [span.batch_id for span in spans])
        units.check_active(session, spans)
        for span in spans:
            units.take(session, span, UnitState.SOLD, sale_id=sale.id, now=now)
    sale.status = UnitSaleStatus.APPROVED if approve else UnitSaleStatus.REFUSED
    sale.decided_by_id, sale.decided_at = actor.user_id, now
    session.flush()
    audit.record(
        session, actor, "sale.approved" if approve else "sale.refused", "unit_sale", sale.id,
        {"buyer": sale.buyer, "units": sale.units, "ranges": sale.ranges},
    )  # fmt: skip
    return sale


def sales(session: Session) -> list[UnitSale]:
    return list(session.scalars(sa.select(UnitSale).order_by(UnitSale.id.desc())))
