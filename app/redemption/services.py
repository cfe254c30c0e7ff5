"""Redemption rules: issue a QR token, preview and confirm it at the counter, reverse a mistake.

Confirming is one database transaction. The token is burned first by a conditional UPDATE, so of
any number of concurrent confirmations exactly one proceeds; everything after the burn runs in a
savepoint. When a rule refuses the redemption, the savepoint is rolled back (no points, no stock,
no benefit) but the burn and the refusal's reason stay, and the service raises :class:`Refused`:
the edge then commits despite the 4xx status. One transaction instead of a separate one for the
burn keeps a confirmation to a single commit, which is what the counter's throughput rests on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound
from app.ledger import services as ledger
from app.merchants.models import Merchant, MerchantStatus, Offer
from app.merchants.offers import redeemable_problem, visible_offer
from app.merchants.services import Staff, require_manager
from app.redemption import tokens
from app.redemption.models import Redemption, RedemptionStatus, RedemptionToken
from rewards.base import FulfilmentContext, RewardType

log = logging.getLogger(__name__)

REDEEMED = "redeemed"
REVERSAL_WINDOW = timedelta(hours=24)
#: A short code that matches no live token is reported as used if a token had it this recently.
_RECENT_CODE_WINDOW = timedelta(minutes=10)
_CODE_ATTEMPTS = 8


class Refused(DomainError):
    """A confirmation was refused after the token was identified: the token stays burned.

    The edge that catches it commits the request's transaction despite the error status, so the
    burn (or the replay count) is kept while the savepoint holding the redemption was undone.
    """

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


# --- issuing ----------------------------------------------------------------------------------


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
    _check_balance(session, holder_id, offer.points_price)
    _check_limits(session, holder_id, offer, now, zone)
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


def _check_balance(session: Session, holder_id: int, points: int) -> None:
    """Refuse early what the ledger's debit would refuse (it checks again, under its lock)."""
    balance = ledger.balance(session, holder_id)
    if balance < points:
        raise Conflict(
            "insufficient_points",
            _l(
                "Not enough points: the balance is %(balance)s points and this needs %(points)s.",
                balance=balance,
                points=points,
            ),
            details={"balance": balance, "points": points},
        )


def _check_limits(
    session: Session,
    holder_id: int,
    offer: Offer,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    """Per-resident limits of the offer, days and months counted in the city's time zone.

    During a confirmation this runs after the debit has locked the wallet, so two tokens of the
    same resident confirmed at once are counted one after the other.
    """
    if offer.daily_limit is None and offer.monthly_limit is None:
        return
    local = now.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month_start = day_start.replace(day=1)
    today = sa.func.coalesce(
        sa.func.sum(sa.case((Redemption.confirmed_at >= day_start, 1), else_=0)), 0
    )
    counts = session.execute(
        sa.select(today, sa.func.count()).where(
            Redemption.resident_id == holder_id,
            Redemption.offer_id == offer.id,
            Redemption.status == RedemptionStatus.COMPLETED,
            Redemption.confirmed_at >= month_start,
        )
    ).one()
    if offer.daily_limit is not None and counts[0] >= offer.daily_limit:
        raise DomainError(
            "daily_limit_reached",
            _l("The limit for this offer is %(limit)s a day per person.", limit=offer.daily_limit),
        )
    if offer.monthly_limit is not None and counts[1] >= offer.monthly_limit:
        raise DomainError(
            "monthly_limit_reached",
            _l(
                "The limit for this offer is %(limit)s a month per person.",
                limit=offer.monthly_limit,
            ),
        )


# --- at the counter ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Loaded:
    token: RedemptionToken
    offer: Offer
    merchant_status: MerchantStatus
    voucher_key: str
    holder_name: str


def _load(session: Session, key: bytes, raw: str, now: datetime) -> _Loaded:
    """The token a scan or a typed code names, with its offer; refuses what names none."""
    presented = tokens.read(key, raw)
    if presented is None:
        raise invalid_token()
    stmt = (
        sa.select(RedemptionToken, Offer, Merchant.status, Merchant.voucher_key, User.display_name)
        .join(Offer, Offer.id == RedemptionToken.offer_id)
        .join(Merchant, Merchant.id == Offer.merchant_id)
        .join(User, User.id == RedemptionToken.resident_id)
    )
    if presented.token_id is not None:
        row = session.execute(stmt.where(RedemptionToken.id == presented.token_id)).first()
    else:
        row = session.execute(
            stmt.where(RedemptionToken.code == presented.code, RedemptionToken.burned_at.is_(None))
        ).first()
        if row is None:
            # The code may belong to a token that was just used: say so, rather than "invalid".
            row = session.execute(
                stmt.where(
                    RedemptionToken.code == presented.code,
                    RedemptionToken.burned_at > now - _RECENT_CODE_WINDOW,
                )
                .order_by(RedemptionToken.burned_at.desc())
                .limit(1)
            ).first()
    if row is None:
        raise invalid_token()
    return _Loaded(*row)


def _check_rules(loaded: _Loaded, staff: Staff, now: datetime) -> None:
    """Every rule that needs no write, in the order a cashier should hear about them."""
    if loaded.token.expires_at <= now:
        raise DomainError(
            "token_expired",
            _l("This QR code has expired. Ask the resident to show the new one on their phone."),
            status=410,
        )
    if loaded.offer.merchant_id != staff.merchant_id:
        raise DomainError(
            "wrong_merchant",
            _l("This QR code is for another merchant's offer and cannot be redeemed here."),
            status=403,
        )
    redeemable_problem(loaded.offer, loaded.merchant_status, now)


@dataclass(frozen=True, slots=True)
class Preview:
    """What the cashier sees before confirming."""

    token_id: int
    offer_id: int
    offer_title: str
    reward_type: str
    config: dict[str, Any]
    points: int
    holder_name: str
    expires_at: datetime


def preview(
    session: Session, staff: Staff, raw: str, *, now: datetime, key: bytes, zone: ZoneInfo
) -> Preview:
    """Identify a scanned or typed token and say what confirming it would redeem; writes nothing.

    A refusal here does not burn the token: the camera may read a code several times, and a
    resident at the wrong counter can still go to the right one. Points and limits are checked
    too, so the cashier hears of them before confirming (confirming checks them again).
    """
    loaded = _load(session, key, raw, now)
    if loaded.token.burned_at is not None:
        raise token_used()
    _check_rules(loaded, staff, now)
    _check_balance(session, loaded.token.resident_id, loaded.offer.points_price)
    _check_limits(session, loaded.token.resident_id, loaded.offer, now, zone)
    return Preview(
        token_id=loaded.token.id,
        offer_id=loaded.offer.id,
        offer_title=loaded.offer.title,
        reward_type=loaded.offer.reward_type,
        config=loaded.offer.config,
        points=loaded.offer.points_price,
        holder_name=mask_name(loaded.holder_name),
        expires_at=loaded.token.expires_at,
    )


@dataclass(frozen=True, slots=True)
class Confirmed:
    redemption: Redemption
    offer_title: str
    holder_name: str
    balance: int


def confirm(
    session: Session,
    staff: Staff,
    raw: str,
    *,
    now: datetime,
    key: bytes,
    zone: ZoneInfo,
    reward_types: Mapping[str, type[RewardType]],
) -> Confirmed:
    """Burn the token, check every rule, take stock and points, issue the benefit: all or nothing.

    Raises :class:`Refused` (burn kept) for any refusal once a real token is identified, and a
    plain :class:`DomainError` (nothing written) for input that names no token.
    """
    loaded = _load(session, key, raw, now)
    token = loaded.token
    burned = session.execute(
        sa.update(RedemptionToken)
        .where(RedemptionToken.id == token.id, RedemptionToken.burned_at.is_(None))
        .values(burned_at=now, burned_by_id=staff.user_id, outcome=REDEEMED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if burned != 1:
        _record_replay(session, token.id, staff, now)
        raise Refused(token_used())
    try:
        with session.begin_nested():
            _check_rules(loaded, staff, now)
            redemption, balance = _redeem(session, staff, loaded, now, zone, reward_types)
    except DomainError as refusal:
        session.execute(
            sa.update(RedemptionToken)
            .where(RedemptionToken.id == token.id)
            .values(outcome=refusal.reason[:32])
            .execution_options(synchronize_session=False)
        )
        log.info(
            "redemption refused",
            extra={"token_id": token.id, "reason": refusal.reason, "merchant": staff.merchant_id},
        )
        raise Refused(refusal) from refusal
    return Confirmed(redemption, loaded.offer.title, mask_name(loaded.holder_name), balance)


def _redeem(
    session: Session,
    staff: Staff,
    loaded: _Loaded,
    now: datetime,
    zone: ZoneInfo,
    reward_types: Mapping[str, type[RewardType]],
) -> tuple[Redemption, int]:
    """The writes of one redemption, in the savepoint.

    The offer's stock row, which every confirmation of a popular offer contends for, is updated
    last, so its lock is held only for the rest of the transaction.
    """
    token, offer = loaded.token, loaded.offer
    debit = ledger.redeem(
        session,
        holder_id=token.resident_id,
        merchant_id=offer.merchant_id,
        points=offer.points_price,
        idempotency_key=f"redemption:{token.id}",
        reference_id=token.id,
        memo=offer.title,
    )
    _check_limits(session, token.resident_id, offer, now, zone)
    fulfilment = reward_types[offer.reward_type].fulfil(
        offer.config,
        FulfilmentContext(
            redemption_id=token.id,
            offer_id=offer.id,
            merchant_id=offer.merchant_id,
            issued_at=now.astimezone(zone),
            secret=bytes.fromhex(loaded.voucher_key),
        ),
    )
    redemption = Redemption(
        id=token.id,
        resident_id=token.resident_id,
        offer_id=offer.id,
        merchant_id=offer.merchant_id,
        points=offer.points_price,
        reward_type=offer.reward_type,
        fulfilment=fulfilment.to_dict(),
        ledger_transaction_id=debit.transaction_id,
        confirmed_by_id=staff.user_id,
        confirmed_at=now,
        status=RedemptionStatus.COMPLETED,
    )
    session.add(redemption)
    session.flush()
    if offer.stock is not None:
        taken = session.execute(
            sa.update(Offer)
            .where(Offer.id == offer.id, Offer.stock > 0)
            .values(stock=Offer.stock - 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            raise Conflict("out_of_stock", _l("This offer has run out."))
    return redemption, debit.balance


def _record_replay(session: Session, token_id: int, staff: Staff, now: datetime) -> None:
    """Count and log an attempt to use a burned token; the resident's page shows it."""
    session.execute(
        sa.update(RedemptionToken)
        .where(RedemptionToken.id == token_id)
        .values(replays=RedemptionToken.replays + 1, last_replay_at=now)
        .execution_options(synchronize_session=False)
    )
    log.warning(
        "replayed redemption token refused",
        extra={"token_id": token_id, "merchant": staff.merchant_id, "staff": staff.user_id},
    )


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
    audit.record(
        session, actor, "redemption.reverse", "redemption", redemption.id,
        {"merchant_id": redemption.merchant_id, "points": redemption.points,
         "resident_id": redemption.resident_id, "reason": reason},
    )  # fmt: skip
    return redemption


def recent_redemptions(session: Session, merchant_id: int, *, limit: int = 50) -> list[Any]:
    """The merchant's latest redemptions with the offer's title, newest first."""
    return list(
        session.execute(
            sa.select(Redemption, Offer.title)
            .join(Offer, Offer.id == Redemption.offer_id)
            .where(Redemption.merchant_id == merchant_id)
            .order_by(Redemption.confirmed_at.desc())
            .limit(limit)
        )
    )


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
