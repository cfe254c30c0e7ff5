"""Redeeming in the wallet, at no counter: a bank's reward, fulfilled by the bank on a webhook.

The resident's click does what a cashier's scan does at a counter, in one transaction: a token is
issued and spent at once (so the redemption keeps its one-token identity and the counter's rules
hold: points, stock and limits), the points are debited, the benefit issued, and the bank's
webhook queued. The resident's own account confirms it. Only reward types that declare
``self_service`` can be redeemed this way; every other offer needs a merchant's counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.errors import Conflict, DomainError
from app.ledger import services as ledger
from app.merchants.offers import visible_offer
from app.redemption.counter import _TOKEN_VIEW, REDEEMED, Redeemed, redeem_token
from app.redemption.issuing import issue_token
from app.redemption.models import RedemptionToken
from app.redemption.rules import check_limits, limit_params
from rewards.base import RewardType

_tokens = RedemptionToken.__table__


def redeem_in_wallet(
    session: Session,
    *,
    holder_id: int,
    offer_id: int,
    now: datetime,
    key: bytes,
    zone: ZoneInfo,
    reward_types: Mapping[str, type[RewardType]],
) -> Redeemed:
    """Redeem a self-service offer for the wallet holder: all of it or nothing."""
    offer = visible_offer(session, offer_id, now)
    reward_type = reward_types.get(offer.reward_type)
    if reward_type is None or not reward_type.self_service:
        raise DomainError(
            "counter_only",
            _l("This offer is redeemed at the merchant's counter: show your QR code there."),
            status=409,
        )
    # Locks the wallet first: this holder's concurrent redemptions then count one by one.
    ledger.locked_balance(session, holder_id)
    issued = issue_token(
        session, holder_id=holder_id, offer_id=offer.id, now=now, lifetime_seconds=60,
        key=key, zone=zone,
    )  # fmt: skip
    session.execute(
        _tokens.update()
        .where(_tokens.c.id == issued.id, _tokens.c.burned_at.is_(None))
        .values(burned_at=now, burned_by_id=holder_id, outcome=REDEEMED)
    )
    token = session.execute(_TOKEN_VIEW.where(_tokens.c.id == issued.id), {"store_id": None}).one()
    confirmed = redeem_token(session, holder_id, None, token, now, zone, reward_types)
    if confirmed is None:  # stock taken or a limit reached by a concurrent redemption
        check_limits(
            session,
            limit_params(holder_id, offer.id, offer.daily_limit, offer.monthly_limit, now, zone),
        )
        raise Conflict("out_of_stock", _l("This offer has run out."))
    return confirmed.redemption
