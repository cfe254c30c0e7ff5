"""Redemption: the package's service API, and what happens after a confirmation.

The rules are in :mod:`app.redemption.rules`, issuing a token in :mod:`app.redemption.issuing`,
preview and confirmation at the counter in :mod:`app.redemption.counter`; they are importable
from here. This module holds the rest: a manager's reversal, the merchant's recent redemptions and
what the resident's page shows of the tokens it issued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound
from app.ledger import services as ledger
from app.merchants.models import Offer, Store
from app.merchants.services import Staff, require_manager
from app.redemption.counter import REDEEMED, Confirmed, Preview, Redeemed, confirm, preview
from app.redemption.events import announce_reversed
from app.redemption.issuing import IssuedToken, issue_token
from app.redemption.models import Redemption, RedemptionStatus, RedemptionToken
from app.redemption.rules import (
    Refused,
    invalid_token,
    limit_params,
    limit_refusal,
    mask_name,
    token_used,
)

__all__ = [
    "REVERSAL_WINDOW",
    "Confirmed",
    "IssuedToken",
    "Preview",
    "Redeemed",
    "Refused",
    "TokenStatus",
    "confirm",
    "invalid_token",
    "issue_token",
    "mask_name",
    "message_for_holder",
    "preview",
    "recent_redemptions",
    "reverse",
    "status_for_holder",
    "token_used",
]

REVERSAL_WINDOW = timedelta(hours=24)


# --- after the fact ---------------------------------------------------------------------------


def reverse(
    session: Session,
    actor: Actor,
    staff: Staff,
    redemption_id: int,
    *,
    reason: str,
    now: datetime,
) -> Redemption:
    """A manager undoes a redemption within 24 hours: points and stock come back (audited)."""
    require_manager(staff)
    redemption = session.get(Redemption, redemption_id, with_for_update=True)
    if redemption is None or redemption.merchant_id != staff.merchant_id:
        raise NotFound("redemption")
    if redemption.status == RedemptionStatus.REVERSED:
        raise Conflict("already_reversed", _l("This redemption has already been reversed."))
    if now - redemption.confirmed_at > REVERSAL_WINDOW:
        raise DomainError(
            "reversal_window_passed",
            _l("A redemption can only be reversed within 24 hours."),
        )
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 255:
        raise DomainError(
            "reason_required", _l("Give a reason of at most 255 characters."), field="reason"
        )
    reversal = ledger.reverse(
        session,
        redemption.ledger_transaction_id,
        idempotency_key=f"redemption-reversal:{redemption.id}",
        memo=reason,
    )
    session.execute(
        sa.update(Offer)
        .where(Offer.id == redemption.offer_id, Offer.stock.is_not(None))
        .values(stock=Offer.stock + 1)
        .execution_options(synchronize_session=False)
    )
    redemption.status = RedemptionStatus.REVERSED
    redemption.reversed_at = now
    redemption.reversed_by_id = staff.user_id
    redemption.reversal_transaction_id = reversal.transaction_id
    redemption.reversal_reason = reason
    session.flush()
    announce_reversed(session, redemption, reason=reason, now=now)
    audit.record(
        session, actor, "redemption.reverse", "redemption", redemption.id,
        {"merchant_id": redemption.merchant_id, "points": redemption.points,
         "resident_id": redemption.resident_id, "reason": reason},
    )  # fmt: skip
    return redemption


def recent_redemptions(
    session: Session,
    merchant_id: int,
    *,
    store_ids: Sequence[int] | None = None,
    limit: int = 50,
) -> list[Any]:
    """The merchant's latest redemptions with their store, newest first; only those made at
    ``store_ids`` when given (a cashier's stores)."""
    stmt = (
        sa.select(Redemption, Store.name.label("store_name"))
        .outerjoin(Store, Store.id == Redemption.store_id)
        .where(Redemption.merchant_id == merchant_id)
    )
    if store_ids is not None:
        stmt = stmt.where(Redemption.store_id.in_(store_ids))
    return list(session.execute(stmt.order_by(Redemption.confirmed_at.desc()).limit(limit)))


# --- the resident's side ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenStatus:
    """What became of the tokens a resident's QR page showed."""

    state: str  # waiting, redeemed or refused
    token_id: int | None = None
    reason: str | None = None
    redemption: Redemption | None = None
    replays: int = 0


def status_for_holder(
    session: Session, *, holder_id: int, offer_id: int, since_token_id: int
) -> TokenStatus:
    """The latest used token of those issued to the holder for the offer since the page opened."""
    token = session.scalar(
        sa.select(RedemptionToken)
        .where(
            RedemptionToken.resident_id == holder_id,
            RedemptionToken.offer_id == offer_id,
            RedemptionToken.id >= since_token_id,
            RedemptionToken.burned_by_id.is_not(None),
        )
        .order_by(RedemptionToken.burned_at.desc(), RedemptionToken.id.desc())
        .limit(1)
    )
    if token is None:
        return TokenStatus("waiting")
    if token.outcome == REDEEMED:
        return TokenStatus(
            "redeemed",
            token.id,
            redemption=session.get(Redemption, token.id),
            replays=token.replays,
        )
    return TokenStatus("refused", token.id, reason=token.outcome, replays=token.replays)


_HOLDER_MESSAGES = {
    "token_expired": _l(
        "The code had expired when it was scanned. Ask the cashier to scan the new one."
    ),
    "wrong_merchant": _l(
        "A merchant who does not run this offer scanned your code; it was refused."
    ),
    "offer_not_at_store": _l(
        "This offer cannot be used at the store that scanned your code: nothing was deducted."
    ),
    "offer_changed": _l(
        "The offer changed after your code was shown: nothing was deducted. Show the new code."
    ),
    "insufficient_points": _l("Not enough points: nothing was deducted."),
    "out_of_stock": _l("The offer has run out: nothing was deducted."),
    "daily_limit_reached": _l("You have reached today's limit for this offer."),
    "monthly_limit_reached": _l("You have reached this month's limit for this offer."),
}
_REFUSED = _l("The merchant could not redeem this offer now: nothing was deducted.")


def message_for_holder(status: TokenStatus) -> str | None:
    """The outcome in words for the resident's page (refusals reassure: nothing was taken)."""
    if status.state == "redeemed" and status.redemption is not None:
        return str(_l("Redeemed: %(points)s points were used.", points=status.redemption.points))
    if status.state == "refused":
        return str(_HOLDER_MESSAGES.get(status.reason or "", _REFUSED))
    return None


def why_not_redeemable(
    session: Session, holder_id: int, offer: Offer, *, now: datetime, zone: ZoneInfo
) -> DomainError | None:
    """What would stop the holder redeeming ``offer`` now (stock, points, limits), so the page
    says it instead of offering a button that can only fail; None when nothing would."""
    if offer.stock is not None and offer.stock <= 0:
        return Conflict("out_of_stock", _l("This offer has run out."))
    balance = ledger.balance(session, holder_id)
    if balance < offer.points_price:
        return ledger.InsufficientPoints(balance, offer.points_price, field=None)
    return limit_refusal(
        session,
        limit_params(holder_id, offer.id, offer.daily_limit, offer.monthly_limit, now, zone),
    )
