"""Issuing a resident's QR token for an offer: a signed id and a short code to type.

What the counter would refuse anyway (too few points, a limit reached, nothing left) is refused
here, so the resident learns it before queueing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.ledger import services as ledger
from app.merchants.offers import redeemable_problem, visible_offer
from app.redemption import tokens
from app.redemption.models import RedemptionToken
from app.redemption.rules import check_limits, limit_params

_CODE_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    signed: str
    code: str
    issued_at: datetime
    expires_at: datetime


def issue_token(
    session: Session,
    *,
    holder_id: int,
    offer_id: int,
    now: datetime,
    lifetime_seconds: int,
    key: bytes,
    zone: ZoneInfo,
) -> IssuedToken:
    """A fresh QR token for the wallet holder and offer, valid ``lifetime_seconds`` from ``now``.

    Refuses up front what would be refused at the counter anyway (too few points, a limit
    reached, nothing left), so the resident learns it before queueing. Earlier tokens of the
    same page stay valid until they expire: a cashier who scanned one just before the page
    refreshed can still confirm it.
    """
    offer = visible_offer(session, offer_id, now)
    redeemable_problem(offer, offer.merchant.status, now)
    balance = ledger.balance(session, holder_id)
    if balance < offer.points_price:
        raise ledger.InsufficientPoints(balance, offer.points_price, field=None)
    check_limits(
        session,
        limit_params(holder_id, offer.id, offer.daily_limit, offer.monthly_limit, now, zone),
    )
    expires_at = now + timedelta(seconds=lifetime_seconds)
    for _attempt in range(_CODE_ATTEMPTS):
        code = tokens.new_code()
        # An expired token that nobody scanned still holds its code; retire it so the code is free.
        session.execute(
            sa.update(RedemptionToken)
            .where(
                RedemptionToken.code == code,
                RedemptionToken.burned_at.is_(None),
                RedemptionToken.expires_at <= now,
            )
            .values(burned_at=now, outcome="expired")
        )
        token = RedemptionToken(
            resident_id=holder_id,
            offer_id=offer.id,
            code=code,
            issued_at=now,
            expires_at=expires_at,
        )
        try:
            with session.begin_nested():
                session.add(token)
        except IntegrityError:
            continue  # the code is live for another token: draw again
        return IssuedToken(token.id, tokens.sign(key, token.id), code, now, expires_at)
    raise RuntimeError("no free redemption code after several draws")
