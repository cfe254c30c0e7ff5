"""What a merchant's (or bank's) webhooks are told of its redemptions.

The body names the redemption, the offer and the benefit with its voucher code, never the
resident: a bank that funds a reward learns of the code the resident brings it, nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from app.webhooks.events import emit
from app.webhooks.models import EventType


class RedemptionFacts(Protocol):
    id: int
    offer_id: int
    merchant_id: int
    store_id: int | None
    offer_title: str
    points: int
    reward_type: str
    fulfilment: dict[str, Any]
    confirmed_at: datetime
    funded_fen: int | None


def redemption_data(redemption: RedemptionFacts) -> dict[str, Any]:
    fulfilment = redemption.fulfilment
    return {
        "redemption_id": redemption.id,
        "offer_id": redemption.offer_id,
        "offer_title": redemption.offer_title,
        "store_id": redemption.store_id,
        "points": redemption.points,
        "reward_type": redemption.reward_type,
        "voucher_code": fulfilment["code"],
        "valid_until": fulfilment["valid_until"],
        "benefit": fulfilment["payload"],
        "funded_fen": redemption.funded_fen,
        "confirmed_at": redemption.confirmed_at.isoformat(),
    }


def announce_confirmed(session: Session, redemption: RedemptionFacts, now: datetime) -> None:
    emit(
        session,
        merchant_id=redemption.merchant_id,
        event_type=EventType.REDEMPTION_CONFIRMED,
        subject_id=redemption.id,
        data=redemption_data(redemption),
        now=now,
    )


def announce_reversed(
    session: Session, redemption: RedemptionFacts, *, reason: str, now: datetime
) -> None:
    emit(
        session,
        merchant_id=redemption.merchant_id,
        event_type=EventType.REDEMPTION_REVERSED,
        subject_id=redemption.id,
        data=redemption_data(redemption) | {"reason": reason, "reversed_at": now.isoformat()},
        now=now,
    )
