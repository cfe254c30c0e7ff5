"""At the counter: preview a scanned token, then confirm it.

Confirming is one database transaction. The token is burned first by a conditional UPDATE, so of
any number of concurrent confirmations exactly one proceeds; the same round trip (on PostgreSQL)
finds the counter's store (a token is burned only where the staff member may redeem), reads the
token's view, locks the resident's wallet and reads its balance. Then every rule that needs no
write is checked: the token's expiry, merchant, store and offer, and the balance. Then the
ledger's debit, guarded by the take of one of the stock within the resident's limits, writes the
redemption row in the same statement (a ledger ``Guard``); only a refusal asks which rule it was.
A refusal therefore leaves nothing but the burn (and the refusal's reason on the token), and the
service raises :class:`Refused`: the edge commits that despite the 4xx status. One transaction,
with no separate one for the burn and no savepoint, keeps a confirmation to one commit and few
round trips (on PostgreSQL: BEGIN, the burn, the take with the debit and the row, COMMIT): the
counter's throughput rests on that.

Confirmation is the hot path: it works on table rows (Core) on the session's connection, not ORM
objects (the ORM's execution layer has nothing to add here). Its statements are built once and
executed with parameters: composing SQL expressions per request costs more CPU than running them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import adapters
from app.accounts.models import User
from app.db import UTCDateTime
from app.errors import Conflict, DomainError
from app.ledger import services as ledger
from app.merchants.models import Merchant, Offer, offer_stores
from app.merchants.services import (
    COUNTER_STORE_ROW,
    CounterStore,
    Staff,
    counter_store,
    counter_store_params,
)
from app.redemption import tokens
from app.redemption.events import announce_confirmed
from app.redemption.models import Redemption, RedemptionStatus, RedemptionToken
from app.redemption.rules import (
    WITHIN_LIMITS,
    Refused,
    check_limits,
    check_rules,
    invalid_token,
    limit_params,
    mask_name,
    token_used,
)
from app.webhooks.models import WebhookEndpoint
from rewards.base import FulfilmentContext, RewardType

log = logging.getLogger(__name__)

_tokens = RedemptionToken.__table__
_offers = Offer.__table__
_merchants = Merchant.__table__
_users = User.__table__
_redemptions = Redemption.__table__
_endpoints = WebhookEndpoint.__table__

REDEEMED = "redeemed"
#: A short code that matches no live token is reported as used if a token had it this recently.
_RECENT_CODE_WINDOW = timedelta(minutes=10)


def _token_view(store_id: sa.ColumnElement[Any]) -> tuple[sa.ColumnElement[Any], ...]:
    """What a scan needs to know: the token, its offer's terms, the merchant's state, whose it
    is, whether the offer may be redeemed at the counter's store ``store_id``, and whether the
    merchant has webhooks to tell."""
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
        # Read in the same round trip, so a merchant without webhooks costs no more statements.
        sa.exists()
        .where(_endpoints.c.merchant_id == _offers.c.merchant_id, _endpoints.c.enabled.is_(True))
        .correlate(_offers)
        .label("has_webhooks"),
    )


_TOKEN_JOINS = (
    _offers.c.id == _tokens.c.offer_id,
    _merchants.c.id == _offers.c.merchant_id,
    _users.c.id == _tokens.c.resident_id,
)
#: The token's view at a store bound as ``store_id``.
_TOKEN_VIEW = sa.select(*_token_view(sa.bindparam("store_id"))).where(*_TOKEN_JOINS)
_BURN = _tokens.update().values(
    burned_at=sa.bindparam("now", type_=UTCDateTime),
    burned_by_id=sa.bindparam("staff_id"),
    outcome=REDEEMED,
)
_RECORD_OUTCOME = (
    _tokens.update()
    .where(_tokens.c.id == sa.bindparam("token_id"))
    .values(outcome=sa.bindparam("outcome"))
)


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


def _token_limits(token: sa.Row[Any], now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The limit parameters of a scanned token's resident and offer."""
    return limit_params(
        token.resident_id, token.offer_id, token.daily_limit, token.monthly_limit, now, zone
    )


# --- preview ------------------------------------------------------------------------------------


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
    presented = tokens.read(key, raw)
    if presented is None:
        raise invalid_token()
    token = session.execute(
        _TOKEN_VIEW.where(_live_token(presented)), {"store_id": store.id}
    ).first()
    if token is None:
        raise token_used() if _used_token_id(session, presented, now) else invalid_token()
    check_rules(token, staff, now)
    balance = ledger.balance(session, token.resident_id)
    if balance < token.points_price:
        raise ledger.InsufficientPoints(balance, token.points_price, field=None)
    check_limits(session, _token_limits(token, now, zone))
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


# --- confirm ------------------------------------------------------------------------------------


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
    funded_fen: int | None = None


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
    try:
        check_rules(burned, staff, now)
        balance = burned.balance or 0
        if balance < burned.points_price:
            raise ledger.InsufficientPoints(balance, burned.points_price, field=None)
    except DomainError as refusal:
        raise _refused(session, burned.id, refusal, staff) from refusal
    store = CounterStore(burned.store_id, burned.store_name)
    confirmed = redeem_token(session, staff.user_id, store, burned, now, zone, reward_types)
    if confirmed is None:  # nothing was taken: say which rule stopped it
        try:
            check_limits(session, _token_limits(burned, now, zone))
            raise Conflict("out_of_stock", _l("This offer has run out."))
        except DomainError as refusal:
            raise _refused(session, burned.id, refusal, staff) from refusal
    return confirmed


@cache
def _burn_statements(
    *, by_code: bool, manager: bool, store_chosen: bool
) -> tuple[sa.Update, Callable[[sa.FromClause], sa.Select[Any]]]:
    """The burn of a token named by its code or id, at the counter's store as
    :func:`counter_store` finds it for a manager or a cashier, with or without a chosen store;
    and the view of the token it burned, with its resident's wallet locked.

    The wallet's lock orders this resident's concurrent confirmations: the balance and the limits
    counted by later statements are then exact, and the debit cannot fail.
    """
    counter = COUNTER_STORE_ROW[manager, store_chosen].cte("counter")
    store_id = sa.select(counter.c.id).scalar_subquery()
    if by_code:
        named = _tokens.c.code == sa.bindparam("token_code")
    else:
        named = _tokens.c.id == sa.bindparam("token_id")
    burn = _BURN.where(named, _tokens.c.burned_at.is_(None), store_id.is_not(None)).returning(
        _tokens.c.id.label("token_id"), _tokens.c.resident_id
    )

    def view(burned: sa.FromClause) -> sa.Select[Any]:
        return (
            sa.select(
                *_token_view(store_id),
                store_id.label("store_id"),
                sa.select(counter.c.name).scalar_subquery().label("store_name"),
                ledger.locked_balance_of(burned.c.resident_id).label("balance"),
            )
            .select_from(burned)
            .join(_tokens, _tokens.c.id == burned.c.token_id)
            .where(*_TOKEN_JOINS)
        )

    return burn, view


def _burn(
    session: Session,
    presented: tokens.Presented,
    staff: Staff,
    store_id: int | None,
    now: datetime,
) -> sa.Row[Any] | None:
    """Spend the token at the counter's store (exactly one of any number of concurrent calls gets
    it), load its view and lock its resident's wallet (the view's ``balance``); None when no live
    token was named or the store is not the staff member's to use."""
    by_code = presented.token_id is None
    params: dict[str, Any] = counter_store_params(staff, store_id)
    params |= {"now": now, "staff_id": staff.user_id}
    params |= {"token_code": presented.code} if by_code else {"token_id": presented.token_id}
    burn, view = _burn_statements(
        by_code=by_code, manager=staff.is_manager, store_chosen=store_id is not None
    )
    conn = session.connection()
    return adapters.of(conn).update_then_select(conn, burn, view, params)


#: The redemption row, written with the debit.
_RECORDED = (
    "id", "resident_id", "offer_id", "merchant_id", "store_id", "offer_title", "points",
    "reward_type", "fulfilment", "confirmed_by_id", "confirmed_at", "status", "reversal_reason",
    "funded_fen",
)  # fmt: skip
_TAKE_ONE = (
    _offers.update()
    .where(_offers.c.id == sa.bindparam("offer_id"), _offers.c.stock > 0, WITHIN_LIMITS)
    .values(stock=_offers.c.stock - 1)
    .returning(_offers.c.id)
)
#: An offer with stock: the debit takes one of it within the resident's limits.
_TAKE_STOCK = ledger.Guard(_TAKE_ONE, _redemptions, _RECORDED, "ledger_transaction_id")
#: An offer without stock: the debit only needs the resident within the limits.
_WITHIN_LIMITS = ledger.Guard(
    sa.select(sa.literal(1)).where(WITHIN_LIMITS), _redemptions, _RECORDED, "ledger_transaction_id"
)


def redeem_token(
    session: Session,
    confirmed_by_id: int,
    store: CounterStore | None,
    token: sa.Row[Any],
    now: datetime,
    zone: ZoneInfo,
    reward_types: Mapping[str, type[RewardType]],
) -> Confirmed | None:
    """The stock, the debit, the benefit and the redemption row once every other rule passed;
    None when the stock is gone or the resident reached a limit (then nothing was written).

    The take guards the debit and the redemption row (a ledger
    :class:`~app.ledger.services.Guard`); on PostgreSQL its snapshot is taken after the wallet's
    lock was granted, so the limits are counted exactly, and the stock's condition holds under
    concurrent takers. ``store`` is None for a redemption in the wallet, at no counter. The
    redemption is announced to the merchant's webhooks in the same transaction.
    """
    reward_type = reward_types[token.reward_type]
    fulfilment = reward_type.fulfil(
        token.config,
        FulfilmentContext(
            redemption_id=token.id,
            offer_id=token.offer_id,
            merchant_id=token.merchant_id,
            issued_at=now.astimezone(zone),
            secret=bytes.fromhex(token.voucher_key),
        ),
    ).to_dict()
    values: dict[str, Any] = {
        "id": token.id,
        "resident_id": token.resident_id,
        "offer_id": token.offer_id,
        "merchant_id": token.merchant_id,
        "store_id": store.id if store else None,
        "offer_title": token.title,
        "points": token.points_price,
        "reward_type": token.reward_type,
        "fulfilment": fulfilment,
        "confirmed_by_id": confirmed_by_id,
        "confirmed_at": now,
        "status": RedemptionStatus.COMPLETED,
        "reversal_reason": "",
        "funded_fen": reward_type.funded_fen(token.config),
    }
    debit = ledger.redeem(
        session,
        holder_id=token.resident_id,
        merchant_id=token.merchant_id,
        points=token.points_price,
        idempotency_key=f"redemption:{token.id}",  # the token's: spent only once
        reference_id=token.id,
        memo=token.title,
        guard=_WITHIN_LIMITS if token.stock is None else _TAKE_STOCK,
        guard_params=_token_limits(token, now, zone),
        record=values,
    )
    if debit is None:
        return None
    values["ledger_transaction_id"] = debit.transaction_id
    redeemed = Redeemed(**values)
    if token.has_webhooks:
        announce_confirmed(session, redeemed, now)
    return Confirmed(
        redeemed,
        token.title,
        mask_name(token.display_name),
        debit.balance,
        store.name if store else "",
    )


def _refused(session: Session, token_id: int, refusal: DomainError, staff: Staff) -> Refused:
    """Keep the refusal's reason on the (burned) token and log it: what the caller raises."""
    session.execute(_RECORD_OUTCOME, {"token_id": token_id, "outcome": refusal.reason[:32]})
    log.info(
        "redemption refused",
        extra={"token_id": token_id, "reason": refusal.reason, "merchant": staff.merchant_id},
    )
    return Refused(refusal)


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
