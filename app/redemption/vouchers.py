"""My vouchers (我的券): every benefit a resident received, for as long as it may be needed.

A parking voucher is shown at the car-park exit long after the counter confirmed it, so the code,
what it is for, where and until when it holds are kept on the redemption (its fulfilment) and
read back here, newest first, in keyset pages (the limits' index leads with the resident).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api.pagination import decode_id_cursor, encode_cursor
from app.merchants import offers
from app.merchants.models import Merchant, Offer, Store
from app.redemption.models import Redemption, RedemptionStatus, RedemptionToken

VALID, USED, EXPIRED, REVERSED = "valid", "used", "expired", "reversed"


@dataclass(frozen=True, slots=True)
class Voucher:
    redemption_id: int
    offer_id: int
    offer_title: str
    offer_title_en: str  # the offer's English title now; empty when it has none
    merchant_name: str
    store_name: str | None
    points: int
    reward_type: str
    code: str
    instructions: dict[str, str] | None
    valid_until: datetime | None
    confirmed_at: datetime
    state: str  # valid, used, expired or reversed

    @property
    def usable(self) -> bool:
        return self.state == VALID


def vouchers_page(
    session: Session, holder_id: int, *, now: datetime, cursor: str | None, limit: int
) -> dict[str, Any]:
    """A page of the holder's vouchers, newest first, and the cursor of the next page."""
    stmt = (
        sa.select(Redemption, Merchant.name, Store.name, Offer.title_en)
        .join(Merchant, Merchant.id == Redemption.merchant_id)
        .join(Offer, Offer.id == Redemption.offer_id)
        .outerjoin(Store, Store.id == Redemption.store_id)
        .where(Redemption.resident_id == holder_id)
        .order_by(Redemption.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        stmt = stmt.where(Redemption.id < decode_id_cursor(cursor))
    rows = session.execute(stmt).all()
    more = len(rows) > limit
    items = [
        _voucher(redemption, merchant, store, title_en, now)
        for redemption, merchant, store, title_en in rows[:limit]
    ]
    next_cursor = encode_cursor([items[-1].redemption_id]) if more and items else None
    return {"items": items, "next_cursor": next_cursor}


def _voucher(
    redemption: Redemption, merchant: str, store: str | None, title_en: str, now: datetime
) -> Voucher:
    fulfilment = redemption.fulfilment or {}
    until = fulfilment.get("valid_until")
    valid_until = datetime.fromisoformat(until) if isinstance(until, str) else None
    if redemption.status == RedemptionStatus.REVERSED:
        state = REVERSED
    elif redemption.voucher_used_at is not None:
        state = USED
    elif valid_until is not None and valid_until <= now:
        state = EXPIRED
    else:
        state = VALID
    instructions = fulfilment.get("instructions")
    return Voucher(
        redemption_id=redemption.id,
        offer_id=redemption.offer_id,
        offer_title=redemption.offer_title,
        offer_title_en=title_en,
        merchant_name=merchant,
        store_name=store,
        points=redemption.points,
        reward_type=redemption.reward_type,
        code=str(fulfilment.get("code", "")),
        instructions=instructions if isinstance(instructions, dict) else None,
        valid_until=valid_until,
        confirmed_at=redemption.confirmed_at,
        state=state,
    )


def last_used_offer(session: Session, holder_id: int, now: datetime) -> Offer | None:
    """The offer whose QR code the holder opened last, while it is still on offer (home's
    shortcut to the counter)."""
    offer_id = session.scalar(
        sa.select(RedemptionToken.offer_id)
        .where(RedemptionToken.resident_id == holder_id)
        .order_by(RedemptionToken.id.desc())
        .limit(1)
    )
    if offer_id is None:
        return None
    return session.scalar(offers.browsable(now).where(Offer.id == offer_id))
