"""Redemption rules, each written once: the token's rules, the balance, and a resident's
per-offer limits (days and months counted in the city's time zone).

Issuing a token, previewing it and confirming it all check these; the limits are also a SQL
condition (:data:`WITHIN_LIMITS`) that a confirmation's take of stock is conditional on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.db import UTCDateTime
from app.errors import Conflict, DomainError
from app.merchants.offers import redeemable_problem
from app.merchants.services import Staff
from app.redemption.models import Redemption, RedemptionStatus

_redemptions = Redemption.__table__


class Refused(DomainError):
    """A confirmation was refused after the token was identified: the token stays burned.

    Nothing but the burn (and the refusal's reason, or a replay's count) was written, and the
    edge commits it despite the error status.
    """

    keep_writes = True

    def __init__(self, refusal: DomainError) -> None:
        super().__init__(
            refusal.reason,
            refusal.message,
            field=refusal.field,
            status=refusal.status,
            details=refusal.details,
        )


def token_used() -> DomainError:
    return Conflict(
        "token_used", _l("This QR code has already been used. Ask the resident to show a new one.")
    )


def invalid_token() -> DomainError:
    return DomainError(
        "invalid_token",
        _l("This is not a valid redemption code. Scan the QR code again or check the digits."),
        field="token",
    )


def mask_name(name: str) -> str:
    """张*绿: enough for the cashier to match the person in front of them, no more."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def check_rules(token: sa.Row[Any], staff: Staff, now: datetime) -> None:
    """Every rule of a scanned token that needs no write, in the order a cashier should hear
    about them.

    A token shown before the offer's last edit is refused: the resident saw the old terms.
    """
    if token.expires_at <= now:
        raise DomainError(
            "token_expired",
            _l("This QR code has expired. Ask the resident to show the new one on their phone."),
            status=410,
        )
    if token.merchant_id != staff.merchant_id:
        raise DomainError(
            "wrong_merchant",
            _l("This QR code is for another merchant's offer and cannot be redeemed here."),
            status=403,
        )
    if not token.at_store:
        raise DomainError(
            "offer_not_at_store",
            _l("This offer cannot be redeemed at this store."),
            status=403,
        )
    redeemable_problem(token, token.merchant_status, now)
    if token.edited_at is not None and token.issued_at < token.edited_at:
        raise Conflict(
            "offer_changed",
            _l("The offer changed after this QR code was shown. Ask the resident for a new one."),
        )


# --- a resident's limits ------------------------------------------------------------------------
# Bound as ``holder_id``, ``offer_id``, ``day_start``, ``month_start`` (limit_params) and, for the
# condition, ``resident_daily_limit`` and ``resident_monthly_limit`` (a limit left out is NULL).

#: The resident's completed redemptions of the offer this month (``month``), and today (``day``).
_COUNTED = (
    sa.select(
        sa.func.coalesce(
            sa.func.sum(
                sa.case(
                    (
                        _redemptions.c.confirmed_at >= sa.bindparam("day_start", type_=UTCDateTime),
                        1,
                    ),
                    else_=0,
                )
            ),
            0,
        ).label("day"),
        sa.func.count().label("month"),
    )
    .where(
        _redemptions.c.resident_id == sa.bindparam("holder_id"),
        _redemptions.c.offer_id == sa.bindparam("offer_id"),
        _redemptions.c.status == RedemptionStatus.COMPLETED,
        _redemptions.c.confirmed_at >= sa.bindparam("month_start", type_=UTCDateTime),
    )
    .subquery("counted")
)
_LIMIT_COUNTS = sa.select(_COUNTED.c.day, _COUNTED.c.month)
_DAILY_LIMIT = sa.cast(sa.bindparam("resident_daily_limit"), sa.Integer)
_MONTHLY_LIMIT = sa.cast(sa.bindparam("resident_monthly_limit"), sa.Integer)
#: The resident is within the offer's limits. Without limits nothing is counted.
WITHIN_LIMITS = sa.or_(
    sa.and_(_DAILY_LIMIT.is_(None), _MONTHLY_LIMIT.is_(None)),
    ~sa.exists().where(sa.or_(_COUNTED.c.day >= _DAILY_LIMIT, _COUNTED.c.month >= _MONTHLY_LIMIT)),
)


def limit_params(
    holder_id: int,
    offer_id: int,
    daily_limit: int | None,
    monthly_limit: int | None,
    now: datetime,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """The parameters of the limits of ``offer_id`` for ``holder_id`` at ``now``."""
    day_start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "holder_id": holder_id,
        "offer_id": offer_id,
        "day_start": day_start,
        "month_start": day_start.replace(day=1),
        "resident_daily_limit": daily_limit,
        "resident_monthly_limit": monthly_limit,
    }


def limit_refusal(session: Session, params: dict[str, Any]) -> DomainError | None:
    """The limit of the offer the resident reached (see :func:`limit_params`), or None.

    During a confirmation this runs once the wallet is locked, so two tokens of the same
    resident confirmed at once are counted one after the other.
    """
    daily_limit = params["resident_daily_limit"]
    monthly_limit = params["resident_monthly_limit"]
    if daily_limit is None and monthly_limit is None:
        return None
    day, month = session.connection().execute(_LIMIT_COUNTS, params).one()
    if daily_limit is not None and day >= daily_limit:
        return DomainError(
            "daily_limit_reached",
            _l("The limit for this offer is %(limit)s a day per person.", limit=daily_limit),
        )
    if monthly_limit is not None and month >= monthly_limit:
        return DomainError(
            "monthly_limit_reached",
            _l("The limit for this offer is %(limit)s a month per person.", limit=monthly_limit),
        )
    return None


def check_limits(session: Session, params: dict[str, Any]) -> None:
    """Raise the limit the resident reached, if any (see :func:`limit_refusal`)."""
    refusal = limit_refusal(session, params)
    if refusal is not None:
        raise refusal
