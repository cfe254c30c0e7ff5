"""A merchant's system reports a voucher used: once, with the code the resident showed.

A voucher code is checked offline with the merchant's key, which cannot tell whether it was used
before. A merchant whose gate or till reports each use here gets that check, and its webhooks are
told (``voucher.used``), so a second system (a partner's parking operator, a bank's app) learns it
at once. A code of the key before the last rotation still counts.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound
from app.merchants.models import Merchant
from app.merchants.services import Staff
from app.redemption.events import redemption_data
from app.redemption.models import Redemption, RedemptionStatus
from app.webhooks.events import emit
from app.webhooks.models import EventType
from rewards.codes import verify_code


def use_voucher(
    session: Session, actor: Actor, staff: Staff, *, redemption_id: int, code: str, now: datetime
) -> Redemption:
    """Mark the voucher of one of the merchant's redemptions used, or say why it cannot be."""
    redemption = session.get(Redemption, redemption_id, with_for_update=True)
    if redemption is None or redemption.merchant_id != staff.merchant_id:
        raise NotFound("redemption")
    merchant = session.get(Merchant, staff.merchant_id)
    assert merchant is not None
    keys = [k for k in (merchant.voucher_key, merchant.previous_voucher_key) if k]
    if not any(
        verify_code(bytes.fromhex(key), code, type_code=redemption.reward_type,
                    redemption_id=redemption.id, offer_id=redemption.offer_id)
        for key in keys
    ):  # fmt: skip
        raise DomainError(
            "invalid_voucher_code",
            _l("This is not the voucher code of this redemption."),
            field="code",
        )
    if redemption.status == RedemptionStatus.REVERSED:
        raise Conflict("voucher_reversed", _l("This redemption was reversed: its voucher is void."))
    until = redemption.fulfilment.get("valid_until")
    if isinstance(until, str) and datetime.fromisoformat(until) <= now:
        raise Conflict("voucher_expired", _l("This voucher has expired."))
    used = session.execute(
        sa.update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.voucher_used_at.is_(None))
        .values(voucher_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        raise Conflict("voucher_already_used", _l("This voucher has already been used."))
    session.refresh(redemption)
    emit(
        session,
        merchant_id=redemption.merchant_id,
        event_type=EventType.VOUCHER_USED,
        subject_id=redemption.id,
        data=redemption_data(redemption) | {"used_at": now.isoformat(), "used_by": actor.user_id},
        now=now,
    )
    return redemption
