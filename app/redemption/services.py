"""Redemption rules: issue a QR token, preview and confirm it at the counter, reverse a mistake.

Confirming is one database transaction. The token is burned first by a conditional UPDATE, so of
any number of concurrent confirmations exactly one proceeds; on PostgreSQL the same statement
finds the counter's store (a token is burned only where the staff member may redeem), locks the
resident's wallet and reads its balance. Then every rule that needs no write is checked: the
token's expiry, merchant, store and offer, and the balance. Then one conditional UPDATE takes the
stock only within the resident's limits; only a refusal asks which rule it was. A refusal
therefore leaves nothing but the burn (and the refusal's reason on the token), and the service
raises :class:`Refused`: the edge commits that despite the 4xx status. With the stock come the
ledger's debit (which cannot fail any more under the wallet's lock), the benefit and the
redemption row; on PostgreSQL the take guards the debit and the redemption row in the debit's
own statement (a ledger ``Guard``). One transaction, with no separate one for the burn and no
savepoint, keeps a confirmation to one commit and few round trips (on PostgreSQL: BEGIN, the
burn, the take with the debit and the row, COMMIT): the counter's throughput rests on that.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
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
from app.db import UTCDateTime
from app.errors import Conflict, DomainError, NotFound
from app.ledger import services as ledger
from app.merchants.models import Merchant, Offer, Store, offer_stores
from app.merchants.offers import redeemable_problem, visible_offer
from app.merchants.services import (
    COUNTER_STORE_ROW,
    CounterStore,
    Staff,
    counter_store,
    counter_store_params,
    require_manager,
)
from app.redemption import tokens
from app.redemption.models import Redemption, RedemptionStatus, RedemptionToken
from rewards.base import FulfilmentContext, RewardType

log = logging.getLogger(__name__)

_tokens = RedemptionToken.__table__
_offers = Offer.__table__
_merchants = Merchant.__table__
_users = User.__table__
_redemptions = Redemption.__table__

REDEEMED = "redeemed"
REVERSAL_WINDOW = timedelta(hours=24)
#: A short code that matches no live token is reported as used if a token had it this recently.
_RECENT_CODE_WINDOW = timedelta(minutes=10)
_CODE_ATTEMPTS = 8


class Refused(DomainError):
    """A confirmation was refused after the token was identified: the token stays burned.

    Nothing but the burn (and the refusal's reason, or a replay's count) was written, and the
    edge that catches this commits it despite the error status.
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
    balance = ledger.balance(session, holder_id)
    if balance < offer.points_price:
        raise _too_few_points(balance, offer.points_price)
    _check_limits(
        session, holder_id, offer.id, offer.daily_limit, offer.monthly_limit, now=now, zone=zone
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


def _too_few_points(balance: int, points: int) -> DomainError:
    return Conflict(
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
    offer_id: int,
    daily_limit: int | None,
    monthly_limit: int | None,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> None:
    """Per-resident limits of the offer, days and months counted in the city's time zone.

    During a confirmation this runs once the wallet is locked, so two tokens of the same
    resident confirmed at once are counted one after the other.
    """
    refusal = _limit_refusal(
        session, holder_id, offer_id, daily_limit, monthly_limit, now=now, zone=zone
    )
    if refusal is not None:
        raise refusal


def _limit_refusal(
    session: Session,
    holder_id: int,
    offer_id: int,
    daily_limit: int | None,
    monthly_limit: int | None,
    *,
    now: datetime,
    zone: ZoneInfo,
) -> DomainError | None:
    """The limit of the offer the resident reached, or None."""
    if daily_limit is None and monthly_limit is None:
        return None
    params = _limit_params(holder_id, offer_id, now, zone)
    counts = session.connection().execute(_LIMIT_COUNTS, params).one()
    if daily_limit is not None and counts[0] >= daily_limit:
        return DomainError(
            "daily_limit_reached",
            _l("The limit for this offer is %(limit)s a day per person.", limit=daily_limit),
        )
    if monthly_limit is not None and counts[1] >= monthly_limit:
        return DomainError(
            "monthly_limit_reached",
            _l("The limit for this offer is %(limit)s a month per person.", limit=monthly_limit),
        )
    return None


def _limit_params(holder_id: int, offer_id: int, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    day_start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "holder_id": holder_id,
        "offer_id": offer_id,
        "day_start": day_start,
        "month_start": day_start.replace(day=1),
    }


# --- at the counter ---------------------------------------------------------------------------
# Confirmation is the hot path: it works on table rows (Core) on the session's connection, not
# ORM objects (the ORM's execution layer has nothing to add here), and takes one round trip per
# step.


def _token_view(store_id: sa.ColumnElement[Any]) -> tuple[sa.ColumnElement[Any], ...]:
    """What a scan needs to know: the token, its offer's terms, the merchant's state, whose it
    is, and whether the offer may be redeemed at the counter's store ``store_id``."""
    at_store = (
        sa.exists()
        .where(offer_stores.c.offer_id == _offers.c.id, offer_stores.c.store_id == store_id)
        .correlate(_offers)
    )
    return (
        _tokens.c.id,
        _tokens.c.resident_id,
        _tokens.c.issued_at,
        _tokens.c.expires_at,
        _tokens.c.burned_at,
        _offers.c.id.label("offer_id"),
        _offers.c.merchant_id,
        _offers.c.reward_type,
        _offers.c.config,
        _offers.c.title,
        _offers.c.points_price,
        _offers.c.stock,
        _offers.c.daily_limit,
        _offers.c.monthly_limit,
        _offers.c.valid_from,
        _offers.c.valid_until,
        _offers.c.status,
        _offers.c.edited_at,
        at_store.label("at_store"),
        _merchants.c.status.label("merchant_status"),
        _merchants.c.voucher_key,
        _users.c.display_name,
    )


#: The token's view at a store bound as ``store_id``.
_TOKEN_VIEW = _token_view(sa.bindparam("store_id"))
_TOKEN_JOINS = (
    _offers.c.id == _tokens.c.offer_id,
    _merchants.c.id == _offers.c.merchant_id,
    _users.c.id == _tokens.c.resident_id,
)

# Built once, executed with parameters: composing SQL expressions per request costs more CPU
# than running them.
_UNBURNED = _tokens.c.burned_at.is_(None)
_BY_ID = _tokens.c.id == sa.bindparam("token_id")
_BY_CODE = _tokens.c.code == sa.bindparam("token_code")
_BURN = _tokens.update().values(
    burned_at=sa.bindparam("now", type_=UTCDateTime),
    burned_by_id=sa.bindparam("staff_id"),
    outcome=REDEEMED,
)


def _burn_and_lock(
    named: sa.ColumnElement[bool], *, manager: bool, store_chosen: bool
) -> sa.Select[Any]:
    """PostgreSQL: find the counter's store, burn the token, return its view and lock its
    resident's wallet, at once.

    The token is burned only at a store the staff member may use (as :func:`counter_store`
    would find it). The wallet's lock orders this resident's concurrent confirmations: the
    balance (``balance``) and the limits counted by later statements are then exact, and the
    debit cannot fail.
    """
    counter = COUNTER_STORE_ROW[manager, store_chosen].cte("counter")
    store_id = sa.select(counter.c.id).scalar_subquery()
    burned = (
        _BURN.where(named, _UNBURNED, *_TOKEN_JOINS, store_id.is_not(None))
        .returning(
            *_token_view(store_id),
            store_id.label("store_id"),
            sa.select(counter.c.name).scalar_subquery().label("store_name"),
        )
        .cte("burned")
    )
    wallet = ledger.locked_balance_of(burned.c.resident_id)
    return sa.select(burned, wallet.c.balance).select_from(burned.outerjoin(wallet, sa.true()))


#: PostgreSQL's burns, by (short code?, manager?, store chosen?): each returns the token's view.
_BURNS_POSTGRESQL = {
    (by_code, manager, chosen): _burn_and_lock(
        _BY_CODE if by_code else _BY_ID, manager=manager, store_chosen=chosen
    )
    for by_code in (True, False)
    for manager in (True, False)
    for chosen in (True, False)
}
#: SQLite's burns, by short code?: each returns the token's id.
_BURNS_SQLITE = {
    by_code: _BURN.where(_BY_CODE if by_code else _BY_ID, _UNBURNED).returning(_tokens.c.id)
    for by_code in (True, False)
}
_TOKEN_BY_ID = sa.select(*_TOKEN_VIEW).where(*_TOKEN_JOINS, _BY_ID)
_LIMIT_COUNTS = sa.select(
    sa.func.coalesce(
        sa.func.sum(
            sa.case(
                (_redemptions.c.confirmed_at >= sa.bindparam("day_start", type_=UTCDateTime), 1),
                else_=0,
            )
        ),
        0,
    ),
    sa.func.count(),
).where(
    _redemptions.c.resident_id == sa.bindparam("holder_id"),
    _redemptions.c.offer_id == sa.bindparam("offer_id"),
    _redemptions.c.status == RedemptionStatus.COMPLETED,
    _redemptions.c.confirmed_at >= sa.bindparam("month_start", type_=UTCDateTime),
)
_TAKE_ONE = (
    _offers.update()
    .where(_offers.c.id == sa.bindparam("offer_id"), _offers.c.stock > 0)
    .values(stock=_offers.c.stock - 1)
)
_DAY_COUNT, _MONTH_COUNT = _LIMIT_COUNTS.selected_columns
_COUNTED = _LIMIT_COUNTS.with_only_columns(
    _DAY_COUNT.label("day"), _MONTH_COUNT.label("month")
).subquery()
#: The take and the limits in one statement: stock goes only to a resident within the limits (a
#: limit left out is bound as NULL, which no count reaches).
_TAKE_ONE_WITHIN_LIMITS = _TAKE_ONE.where(
    ~sa.exists().where(
        sa.or_(
            _COUNTED.c.day >= sa.bindparam("resident_daily_limit"),
            _COUNTED.c.month >= sa.bindparam("resident_monthly_limit"),
        )
    )
)
_RECORD_OUTCOME = _tokens.update().where(_BY_ID).values(outcome=sa.bindparam("outcome"))

# PostgreSQL: the guards of the confirmation's debit (psycopg's parameters; see ledger.Guard),
# keyed by (the offer has stock?, the offer has limits?). A limit left out is bound as NULL,
# which no count reaches.
_LIMITS_REACHED = """EXISTS (
        SELECT FROM (
            SELECT count(*) FILTER (WHERE confirmed_at >= %(day_start)s) AS day,
                   count(*) AS month
            FROM redemptions
            WHERE resident_id = %(holder_id)s AND offer_id = %(offer_id)s
              AND status = 'completed' AND confirmed_at >= %(month_start)s
        ) AS counted
        WHERE counted.day >= CAST(%(resident_daily_limit)s AS integer)
           OR counted.month >= CAST(%(resident_monthly_limit)s AS integer)
    )"""
_RECORD_REDEMPTION = """r AS (
    INSERT INTO redemptions
        (id, resident_id, offer_id, merchant_id, store_id, offer_title, points, reward_type,
         fulfilment, ledger_transaction_id, confirmed_by_id, confirmed_at, status,
         reversal_reason)
    SELECT CAST(%(reference_id)s AS bigint), CAST(%(holder_id)s AS bigint),
           CAST(%(offer_id)s AS bigint), CAST(%(merchant_id)s AS bigint),
           CAST(%(store_id)s AS bigint), CAST(%(memo)s AS varchar), CAST(%(points)s AS integer),
           CAST(%(reward_type)s AS varchar), CAST(%(fulfilment)s AS json), t.id,
           CAST(%(staff_id)s AS bigint), CAST(%(confirmed_at)s AS timestamptz), 'completed', ''
    FROM t
)"""


def _guard(*, stock: bool, limited: bool) -> ledger.Guard:
    """Built from the constants above only: no value ever enters the text."""
    conditions = ["EXISTS (SELECT FROM m)"] + ([f"NOT {_LIMITS_REACHED}"] if limited else [])
    where = "\n      AND ".join(conditions)
    if stock:
        condition = (
            "UPDATE offers SET stock = stock - 1\n"  # noqa: S608 (constants only)
            f"    WHERE id = %(offer_id)s AND stock > 0\n      AND {where}\n    RETURNING id"
        )
    else:
        condition = f"SELECT WHERE {where}"
    return ledger.Guard(condition, _RECORD_REDEMPTION)


_GUARDS = {
    (stock, limited): _guard(stock=stock, limited=limited)
    for stock in (True, False)
    for limited in (True, False)
}


def _presented(key: bytes, raw: str) -> tokens.Presented:
    presented = tokens.read(key, raw)
    if presented is None:
        raise invalid_token()
    return presented


def _live_token(presented: tokens.Presented) -> sa.ColumnElement[bool]:
    """The condition naming the presented token while it is unburned."""
    if presented.token_id is not None:
        named = _tokens.c.id == presented.token_id
    else:
        named = _tokens.c.code == presented.code
    return sa.and_(named, _tokens.c.burned_at.is_(None))


def _used_token_id(session: Session, presented: tokens.Presented, now: datetime) -> int | None:
    """The burned token the presented id or code names (a code only for a short while)."""
    if presented.token_id is not None:
        condition = _tokens.c.id == presented.token_id
    else:
        condition = sa.and_(
            _tokens.c.code == presented.code,
            _tokens.c.burned_at > now - _RECENT_CODE_WINDOW,
        )
    return session.scalar(
        sa.select(_tokens.c.id)
        .where(condition, _tokens.c.burned_at.is_not(None))
        .order_by(_tokens.c.burned_at.desc())
        .limit(1)
    )


def _check_rules(token: sa.Row[Any], staff: Staff, now: datetime) -> None:
    """Every rule that needs no write, in the order a cashier should hear about them.

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
    store_id: int
    store_name: str


def preview(
    session: Session,
    staff: Staff,
    raw: str,
    *,
    store_id: int | None,
    now: datetime,
    key: bytes,
    zone: ZoneInfo,
) -> Preview:
    """Identify a scanned or typed token and say what confirming it would redeem; writes nothing.

    A refusal here does not burn the token: the camera may read a code several times, and a
    resident at the wrong counter can still go to the right one. Points and limits are checked
    too, so the cashier hears of them before confirming (confirming checks them again).
    ``store_id`` is the counter's store, or ``None`` for the staff member's only store.
    """
    store = counter_store(session, staff, store_id)
    presented = _presented(key, raw)
    token = session.execute(
        sa.select(*_TOKEN_VIEW).where(*_TOKEN_JOINS, _live_token(presented)),
        {"store_id": store.id},
    ).first()
    if token is None:
        raise token_used() if _used_token_id(session, presented, now) else invalid_token()
    _check_rules(token, staff, now)
    balance = ledger.balance(session, token.resident_id)
    if balance < token.points_price:
        raise _too_few_points(balance, token.points_price)
    _check_token_limits(session, token, now, zone)
    return Preview(
        token_id=token.id,
        offer_id=token.offer_id,
        offer_title=token.title,
        reward_type=token.reward_type,
        config=token.config,
        points=token.points_price,
        holder_name=mask_name(token.display_name),
        expires_at=token.expires_at,
        store_id=store.id,
        store_name=store.name,
    )


@dataclass(frozen=True, slots=True)
class Redeemed:
    """The redemption just written (with a plain INSERT), as the answer shows it."""

    id: int
    resident_id: int
    offer_id: int
    merchant_id: int
    store_id: int
    offer_title: str
    points: int
    reward_type: str
    fulfilment: dict[str, Any]
    ledger_transaction_id: int
    confirmed_by_id: int
    confirmed_at: datetime
    status: RedemptionStatus
    reversal_reason: str = ""
    reversed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Confirmed:
    redemption: Redeemed
    offer_title: str
    holder_name: str
    balance: int
    store_name: str


def confirm(
    session: Session,
    staff: Staff,
    raw: str,
    *,
    store_id: int | None,
    now: datetime,
    key: bytes,
    zone: ZoneInfo,
    reward_types: Mapping[str, type[RewardType]],
) -> Confirmed:
    """Burn the token, check every rule, take stock and points, issue the benefit: all or nothing.

    Raises :class:`Refused` (burn kept) for any refusal once a real token is identified, and a
    plain :class:`DomainError` (nothing written) for input that names no token or a store the
    staff member does not work at.
    """
    presented = tokens.read(key, raw)
    burned = None if presented is None else _burn(session, presented, staff, store_id, now)
    if burned is None:
        counter_store(session, staff, store_id)  # the store, if it is what stopped the burn
        used = None if presented is None else _used_token_id(session, presented, now)
        if used is None:
            raise invalid_token()
        _record_replay(session, used, staff, now)
        raise Refused(token_used())
    token, balance, store = burned
    try:
        _check_rules(token, staff, now)
        if balance < token.points_price:
            raise _too_few_points(balance, token.points_price)
    except DomainError as refusal:
        raise _refused(session, token.id, refusal, staff) from refusal
    confirmed = _redeem(session, staff, store, token, now, zone, reward_types)
    if confirmed is None:  # nothing was taken: say which rule stopped it
        try:
            _check_token_limits(session, token, now, zone)
            raise Conflict("out_of_stock", _l("This offer has run out."))
        except DomainError as refusal:
            raise _refused(session, token.id, refusal, staff) from refusal
    return confirmed


def _burn(
    session: Session,
    presented: tokens.Presented,
    staff: Staff,
    store_id: int | None,
    now: datetime,
) -> tuple[sa.Row[Any], int, CounterStore] | None:
    """Spend the token at the counter's store (exactly one of any number of concurrent calls gets
    it), load it and lock its resident's wallet: the token, the wallet's balance and the store,
    or None when no live token was named (on PostgreSQL also when the store is not the staff
    member's to use; SQLite raises that as :func:`counter_store` does).

    On PostgreSQL one statement does it all (:func:`_burn_and_lock`); SQLite's RETURNING cannot
    name the joined tables, so it finds the store first and reads the token back (it runs one
    writer at a time).
    """
    by_code = presented.token_id is None
    params: dict[str, Any] = counter_store_params(staff, store_id)
    params |= {"now": now, "staff_id": staff.user_id}
    params |= {"token_code": presented.code} if by_code else {"token_id": presented.token_id}
    conn = session.connection()
    if session.get_bind().dialect.name == "postgresql":
        burn = _BURNS_POSTGRESQL[by_code, staff.is_manager, store_id is not None]
        row = conn.execute(burn, params).first()
        if row is None:
            return None
        return row, row.balance or 0, CounterStore(row.store_id, row.store_name)
    store = counter_store(session, staff, store_id)
    token_id = conn.execute(_BURNS_SQLITE[by_code], params).scalar()
    if token_id is None:
        return None
    token = conn.execute(_TOKEN_BY_ID, {"token_id": token_id, "store_id": store.id}).one()
    return token, ledger.locked_balance(session, token.resident_id), store


def _check_token_limits(
    session: Session, token: sa.Row[Any], now: datetime, zone: ZoneInfo
) -> None:
    """:func:`_check_limits` for a scanned token's resident and offer."""
    _check_limits(
        session, token.resident_id, token.offer_id, token.daily_limit, token.monthly_limit,
        now=now, zone=zone,
    )  # fmt: skip


def _take_one(session: Session, token: sa.Row[Any], now: datetime, zone: ZoneInfo) -> bool:
    """SQLite: take one of the stock unless it is gone or the resident reached a limit.

    An offer without stock only has the limits to pass.
    """
    if token.stock is None:
        refusal = _limit_refusal(
            session, token.resident_id, token.offer_id, token.daily_limit, token.monthly_limit,
            now=now, zone=zone,
        )  # fmt: skip
        return refusal is None
    if token.daily_limit is None and token.monthly_limit is None:
        taken = session.connection().execute(_TAKE_ONE, {"offer_id": token.offer_id})
    else:
        taken = session.connection().execute(
            _TAKE_ONE_WITHIN_LIMITS, _take_params(token, now, zone)
        )
    return taken.rowcount == 1


def _take_params(token: sa.Row[Any], now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The limits of a take: a limit left out is bound as NULL, which no count reaches."""
    params = _limit_params(token.resident_id, token.offer_id, now, zone)
    return params | {
        "resident_daily_limit": token.daily_limit,
        "resident_monthly_limit": token.monthly_limit,
    }


def _redeem(
    session: Session,
    staff: Staff,
    store: CounterStore,
    token: sa.Row[Any],
    now: datetime,
    zone: ZoneInfo,
    reward_types: Mapping[str, type[RewardType]],
) -> Confirmed | None:
    """The stock, the debit, the benefit and the redemption row once every other rule passed;
    None when the stock is gone or the resident reached a limit (then nothing was written).

    On PostgreSQL the take, the debit and the redemption row are one statement (a ledger
    :class:`~app.ledger.postings.Guard`); its snapshot is taken after the wallet's lock was
    granted, so the limits are counted exactly, and the stock's condition holds under
    concurrent takers.
    """
    fulfilment = (
        reward_types[token.reward_type]
        .fulfil(
            token.config,
            FulfilmentContext(
                redemption_id=token.id,
                offer_id=token.offer_id,
                merchant_id=token.merchant_id,
                issued_at=now.astimezone(zone),
                secret=bytes.fromhex(token.voucher_key),
            ),
        )
        .to_dict()
    )
    values: dict[str, Any] = {
        "id": token.id,
        "resident_id": token.resident_id,
        "offer_id": token.offer_id,
        "merchant_id": token.merchant_id,
        "store_id": store.id,
        "offer_title": token.title,
        "points": token.points_price,
        "reward_type": token.reward_type,
        "fulfilment": fulfilment,
        "confirmed_by_id": staff.user_id,
        "confirmed_at": now,
        "status": RedemptionStatus.COMPLETED,
        "reversal_reason": "",
    }
    postgresql = session.get_bind().dialect.name == "postgresql"
    write = _take_debit_and_record_postgresql if postgresql else _take_debit_and_record_sqlite
    debit = write(session, token, values, now, zone)
    if debit is None:
        return None
    values["ledger_transaction_id"] = debit.transaction_id
    return Confirmed(
        Redeemed(**values), token.title, mask_name(token.display_name), debit.balance, store.name
    )


def _debit(token: sa.Row[Any]) -> dict[str, Any]:
    """The ledger's redemption debit for a token: its key is the token's, spent only once."""
    return {
        "holder_id": token.resident_id,
        "merchant_id": token.merchant_id,
        "points": token.points_price,
        "idempotency_key": f"redemption:{token.id}",
        "reference_id": token.id,
        "memo": token.title,
    }


def _take_debit_and_record_postgresql(
    session: Session, token: sa.Row[Any], values: dict[str, Any], now: datetime, zone: ZoneInfo
) -> ledger.Posted | None:
    """One statement: the take within the limits guards the debit and the redemption row."""
    limited = token.daily_limit is not None or token.monthly_limit is not None
    params = _take_params(token, now, zone) if limited else {"offer_id": token.offer_id}
    params |= {
        "store_id": values["store_id"],
        "reward_type": values["reward_type"],
        "fulfilment": json.dumps(values["fulfilment"], ensure_ascii=False),
        "staff_id": values["confirmed_by_id"],
        "confirmed_at": now,
    }
    guard = _GUARDS[token.stock is not None, limited]
    return ledger.redeem(session, **_debit(token), guard=guard, guard_params=params)


def _take_debit_and_record_sqlite(
    session: Session, token: sa.Row[Any], values: dict[str, Any], now: datetime, zone: ZoneInfo
) -> ledger.Posted | None:
    if not _take_one(session, token, now, zone):
        return None
    debit = ledger.redeem(session, **_debit(token))
    assert debit is not None  # an unguarded debit returns a posting or raises
    session.connection().execute(
        _redemptions.insert(), values | {"ledger_transaction_id": debit.transaction_id}
    )
    return debit


def _refused(session: Session, token_id: int, refusal: DomainError, staff: Staff) -> Refused:
    """Keep the refusal's reason on the (burned) token and log it: what the caller raises."""
    _record_refusal(session, token_id, refusal, staff)
    return Refused(refusal)


def _record_refusal(session: Session, token_id: int, refusal: DomainError, staff: Staff) -> None:
    session.execute(_RECORD_OUTCOME, {"token_id": token_id, "outcome": refusal.reason[:32]})
    log.info(
        "redemption refused",
        extra={"token_id": token_id, "reason": refusal.reason, "merchant": staff.merchant_id},
    )


def _record_replay(session: Session, token_id: int, staff: Staff, now: datetime) -> None:
    """Count and log an attempt to use a burned token; the resident's page shows it."""
    session.execute(
        _tokens.update()
        .where(_tokens.c.id == token_id)
        .values(replays=_tokens.c.replays + 1, last_replay_at=now)
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
