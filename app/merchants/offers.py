"""Offers: merchants create them, the bureau approves public-service ones, residents browse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Checks, Conflict, DomainError, NotFound
from app.merchants.models import (
    Merchant,
    MerchantKind,
    MerchantStatus,
    Offer,
    OfferStatus,
    Store,
)
from app.merchants.services import Staff, require_manager
from rewards.base import RewardType

MAX_POINTS_PRICE = 10_000_000
_WITH_MERCHANT_AND_STORES = (selectinload(Offer.merchant), selectinload(Offer.stores))
MAX_STOCK = 10_000_000


@dataclass(frozen=True, slots=True)
class OfferIn:
    """An offer as the merchant's form or API call describes it."""

    reward_type: str
    config: Mapping[str, Any]
    title: str
    terms: str
    points_price: int
    stock: int | None
    daily_limit: int | None
    monthly_limit: int | None
    valid_from: datetime
    valid_until: datetime
    store_ids: Sequence[int]
    title_en: str = ""


def _positive(value: int | None, field: str, *, most: int, optional: bool) -> None:
    if value is None and optional:
        return
    if value is None or isinstance(value, bool) or not 1 <= value <= most:
        raise DomainError(
            "invalid_number", _l("Enter a whole number from 1 to %(most)s.", most=most), field=field
        )


def check_config(
    reward_type: str | None, config: Mapping[str, Any], reward_types: Mapping[str, type[RewardType]]
) -> dict[str, Any]:
    """The reward type's settings, loaded; a refusal carries each setting's messages."""
    plugin = reward_types.get(reward_type or "")
    if plugin is None:
        raise DomainError(
            "unknown_reward_type",
            _l("Choose one of the offered reward types."),
            field="reward_type",
        )
    try:
        return plugin.load_config(config)
    except ma.ValidationError as exc:
        raise DomainError(
            "invalid_config",
            _l("Check the reward's settings."),
            field="config",
            details={"config_errors": exc.normalized_messages()},
        ) from exc


def _check(data: OfferIn, reward_types: Mapping[str, type[RewardType]]) -> dict[str, Any]:
    """Validate everything but the stores, refusing all that is wrong together; return the
    reward type's loaded configuration."""
    checks = Checks()
    config: dict[str, Any] = {}
    with checks.check():
        config = check_config(data.reward_type, data.config, reward_types)
    with checks.check():
        if not 1 <= len(data.title.strip()) <= 128:
            raise DomainError("invalid_text", _l("Enter 1 to 128 characters."), field="title")
    with checks.check():
        if len(data.title_en.strip()) > 128:
            raise DomainError("invalid_text", _l("Enter at most 128 characters."), field="title_en")
    with checks.check():
        if len(data.terms) > 500:
            raise DomainError("invalid_text", _l("Enter at most 500 characters."), field="terms")
    with checks.check():
        _positive(data.points_price, "points_price", most=MAX_POINTS_PRICE, optional=False)
    with checks.check():
        if data.stock is not None and (
            isinstance(data.stock, bool) or not 0 <= data.stock <= MAX_STOCK
        ):
            raise DomainError(
                "invalid_number", _l("Enter a whole number from 0 to %(most)s.", most=MAX_STOCK),
                field="stock",
            )  # fmt: skip
    with checks.check():
        _positive(data.daily_limit, "daily_limit", most=1000, optional=True)
    with checks.check():
        _positive(data.monthly_limit, "monthly_limit", most=1000, optional=True)
    if data.valid_from.utcoffset() is None or data.valid_until.utcoffset() is None:
        raise ValueError("offer validity must be timezone-aware")
    with checks.check():
        if data.valid_until <= data.valid_from:
            raise DomainError(
                "invalid_window", _l("The end must be after the start."), field="valid_until"
            )
    checks.refuse()
    return config


def create_offer(
    session: Session,
    actor: Actor,
    staff: Staff,
    data: OfferIn,
    *,
    reward_types: Mapping[str, type[RewardType]],
) -> Offer:
    """A manager creates an offer; a public-service one waits for the bureau (audited)."""
    merchant = _publishing_merchant(session, staff)
    config = _check(data, reward_types)
    if reward_types[data.reward_type].self_service and merchant.kind != MerchantKind.FINANCIAL:
        raise DomainError(
            "financial_partners_only",
            _l("Only a bank or other financial institution may publish this kind of reward."),
            field="reward_type",
            status=403,
        )
    stores = _stores(session, merchant.id, data.store_ids)
    public_service = reward_types[data.reward_type].public_service
    offer = Offer(
        merchant_id=merchant.id,
        reward_type=data.reward_type,
        config=config,
        title=data.title.strip(),
        title_en=data.title_en.strip(),
        terms=data.terms.strip(),
        points_price=data.points_price,
        stock=data.stock,
        daily_limit=data.daily_limit,
        monthly_limit=data.monthly_limit,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        public_service=public_service,
        status=OfferStatus.PENDING if public_service else OfferStatus.ACTIVE,
        created_by_id=actor.user_id,
        merchant=merchant,
        stores=stores,
    )
    session.add(offer)
    session.flush()
    audit.record(
        session, actor, "offer.create", "offer", offer.id,
        {"merchant_id": merchant.id, "reward_type": offer.reward_type, "title": offer.title,
         "points_price": offer.points_price, "stock": offer.stock, "status": offer.status.value},
    )  # fmt: skip
    return offer


def _publishing_merchant(session: Session, staff: Staff) -> Merchant:
    require_manager(staff)
    merchant = session.get(Merchant, staff.merchant_id)
    if merchant is None or merchant.status != MerchantStatus.APPROVED:
        raise DomainError(
            "merchant_not_approved",
            _l("Your merchant account must be approved and active to publish offers."),
            status=403,
        )
    return merchant


def _stores(session: Session, merchant_id: int, store_ids: Sequence[int]) -> list[Store]:
    wanted = sorted(set(store_ids))
    stores = list(
        session.scalars(
            sa.select(Store)
            .where(Store.id.in_(wanted), Store.merchant_id == merchant_id)
            .order_by(Store.id)
        )
    )
    if not wanted or len(stores) != len(wanted):
        raise DomainError(
            "invalid_stores", _l("Choose at least one of your stores."), field="store_ids"
        )
    return stores


def _terms(offer: Offer) -> dict[str, Any]:
    """What residents are shown of an offer, as JSON-safe values (all but the stock)."""
    return {
        "config": offer.config,
        "title": offer.title,
        "title_en": offer.title_en,
        "terms": offer.terms,
        "points_price": offer.points_price,
        "daily_limit": offer.daily_limit,
        "monthly_limit": offer.monthly_limit,
        "valid_from": offer.valid_from.astimezone(UTC).isoformat(),
        "valid_until": offer.valid_until.astimezone(UTC).isoformat(),
        "store_ids": [store.id for store in offer.stores],
    }


def edit_offer(
    session: Session,
    actor: Actor,
    staff: Staff,
    offer_id: int,
    data: OfferIn,
    *,
    reward_types: Mapping[str, type[RewardType]],
) -> Offer:
    """A manager changes an offer's terms, stock or stores (audited with every change).

    The reward type stays (another benefit is another offer). A public-service offer whose terms
    change goes back to the bureau and is not redeemable until approved again; a change of stock
    alone does not need the bureau. Redemptions already made keep their points, title and
    voucher; QR codes shown before a change of terms are refused at the counter.
    """
    merchant = _publishing_merchant(session, staff)
    # Read afresh under the lock: the changes recorded are against what was there.
    offer = session.get(
        Offer,
        offer_id,
        with_for_update=True,
        populate_existing=True,
        options=_WITH_MERCHANT_AND_STORES,
    )
    if offer is None or offer.merchant_id != merchant.id:
        raise NotFound("offer")
    if offer.status == OfferStatus.WITHDRAWN:
        raise Conflict("not_editable", _l("A withdrawn offer cannot be edited."))
    if data.reward_type != offer.reward_type:
        raise DomainError(
            "reward_type_fixed",
            _l("The kind of reward cannot change: create a new offer instead."),
            field="reward_type",
        )
    config = _check(data, reward_types)
    stores = _stores(session, merchant.id, data.store_ids)
    before, stock_before, status_before = _terms(offer), offer.stock, offer.status
    offer.config = config
    offer.title = data.title.strip()
    offer.title_en = data.title_en.strip()
    offer.terms = data.terms.strip()
    offer.points_price = data.points_price
    offer.daily_limit = data.daily_limit
    offer.monthly_limit = data.monthly_limit
    offer.valid_from = data.valid_from
    offer.valid_until = data.valid_until
    offer.stores = stores
    offer.stock = data.stock
    after = _terms(offer)
    changes = {name: [before[name], after[name]] for name in before if before[name] != after[name]}
    if offer.stock != stock_before:
        changes["stock"] = [stock_before, offer.stock]
    if not changes:
        return offer
    if before != after:
        offer.edited_at = clock.now()
        if offer.public_service:
            offer.status = OfferStatus.PENDING
            offer.decided_at = None
            offer.decided_by_id = None
            offer.decision_note = ""
    session.flush()
    audit.record(
        session, actor, "offer.edit", "offer", offer.id,
        {"merchant_id": merchant.id, "changes": changes,
         "status": [status_before.value, offer.status.value]},
    )  # fmt: skip
    return offer


def decide_offer(
    session: Session, actor: Actor, offer_id: int, *, approve: bool, note: str = ""
) -> Offer:
    """The bureau approves or rejects a public-service offer (audited); a rejection says why."""
    offer = session.get(Offer, offer_id, with_for_update=True, options=_WITH_MERCHANT_AND_STORES)
    if offer is None:
        raise NotFound("offer")
    if offer.status != OfferStatus.PENDING:
        raise Conflict("not_pending", _l("This offer is not waiting for a decision."))
    note = (note or "").strip()
    if len(note) > 500 or (not approve and not note):
        raise DomainError(
            "reason_required", _l("Give a reason of at most 500 characters."), field="note"
        )
    offer.status = OfferStatus.ACTIVE if approve else OfferStatus.REJECTED
    offer.decided_at = clock.now()
    offer.decided_by_id = actor.user_id
    offer.decision_note = note
    session.flush()
    audit.record(
        session, actor, "offer.approve" if approve else "offer.reject", "offer", offer.id,
        {"merchant_id": offer.merchant_id, "note": note},
    )  # fmt: skip
    return offer


def withdraw_offer(session: Session, actor: Actor, staff: Staff, offer_id: int) -> Offer:
    """A manager takes an offer down; tokens already shown for it are refused (audited)."""
    require_manager(staff)
    offer = session.get(Offer, offer_id, with_for_update=True, options=_WITH_MERCHANT_AND_STORES)
    if offer is None or offer.merchant_id != staff.merchant_id:
        raise NotFound("offer")
    if offer.status not in {OfferStatus.ACTIVE, OfferStatus.PENDING}:
        raise Conflict("not_withdrawable", _l("This offer is no longer on offer."))
    offer.status = OfferStatus.WITHDRAWN
    session.flush()
    audit.record(
        session, actor, "offer.withdraw", "offer", offer.id, {"merchant_id": offer.merchant_id}
    )
    return offer


def merchant_offer(session: Session, merchant_id: int, offer_id: int) -> Offer:
    """One of the merchant's own offers, with its stores."""
    offer = session.get(Offer, offer_id, options=_WITH_MERCHANT_AND_STORES)
    if offer is None or offer.merchant_id != merchant_id:
        raise NotFound("offer")
    return offer


def offers_of_merchant(session: Session, merchant_id: int) -> list[Offer]:
    return list(
        session.scalars(
            sa.select(Offer)
            .where(Offer.merchant_id == merchant_id)
            .options(selectinload(Offer.merchant), selectinload(Offer.stores))
            .order_by(Offer.id.desc())
        )
    )


def pending_offers(session: Session) -> list[Offer]:
    """Public-service offers waiting for the bureau, oldest first."""
    return list(
        session.scalars(
            sa.select(Offer)
            .where(Offer.status == OfferStatus.PENDING)
            .options(selectinload(Offer.merchant), selectinload(Offer.stores))
            .order_by(Offer.id)
        )
    )


def browsable(
    now: datetime, *, reward_type: str | None = None, merchant_id: int | None = None
) -> sa.Select[tuple[Offer]]:
    """Offers a resident may redeem now, optionally of one kind or merchant (for keyset paging)."""
    stmt = (
        sa.select(Offer)
        .join(Merchant, Merchant.id == Offer.merchant_id)
        .where(
            Offer.status == OfferStatus.ACTIVE,
            Merchant.status == MerchantStatus.APPROVED,
            Offer.valid_from <= now,
            Offer.valid_until > now,
        )
        .options(selectinload(Offer.merchant), selectinload(Offer.stores))
    )
    if reward_type:
        stmt = stmt.where(Offer.reward_type == reward_type)
    if merchant_id:
        stmt = stmt.where(Offer.merchant_id == merchant_id)
    return stmt


def merchants_with_offers(session: Session, now: datetime) -> list[Merchant]:
    """Approved merchants with an offer on now, for the residents' filter."""
    offer_ids = browsable(now).with_only_columns(Offer.merchant_id).distinct()
    return list(
        session.scalars(
            sa.select(Merchant).where(Merchant.id.in_(offer_ids)).order_by(Merchant.name)
        )
    )


def visible_offer(session: Session, offer_id: int, now: datetime) -> Offer:
    """An offer as a resident may open it: on offer now, from an approved merchant."""
    offer = session.scalar(browsable(now).where(Offer.id == offer_id))
    if offer is None:
        raise NotFound("offer")
    return offer


class OfferTerms(Protocol):
    """What decides whether an offer can be redeemed: an Offer, or a row with its columns."""

    status: OfferStatus
    valid_from: datetime
    valid_until: datetime
    stock: int | None


def redeemable_problem(offer: OfferTerms, merchant_status: MerchantStatus, now: datetime) -> None:
    """Raise why ``offer`` cannot be redeemed right now, if it cannot."""
    if merchant_status == MerchantStatus.SUSPENDED:
        raise DomainError(
            "merchant_suspended",
            _l("This merchant is suspended and cannot redeem points at the moment."),
            status=403,
        )
    if merchant_status != MerchantStatus.APPROVED:
        raise DomainError(
            "merchant_not_approved", _l("This merchant is not approved yet."), status=403
        )
    if offer.status != OfferStatus.ACTIVE or not offer.valid_from <= now < offer.valid_until:
        raise DomainError("offer_unavailable", _l("This offer is not available now."))
    if offer.stock is not None and offer.stock <= 0:
        raise Conflict("out_of_stock", _l("This offer has run out."))


def summary(offer: Offer, reward_types: Mapping[str, type[RewardType]], locale: str) -> str:
    """What the resident gets, in the reader's language (the reward type's own wording)."""
    reward_type = reward_types.get(offer.reward_type)
    if reward_type is None:
        return offer.title
    return reward_type.summary(offer.config).in_locale(locale)
