"""Merchant and redemption test data, made through the platform's own services where it matters."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts import services as accounts
from app.accounts.models import MerchantRole, User
from app.accounts.roles import Role
from app.audit.services import SYSTEM
from app.ledger import services as ledger
from app.ledger.policy import LedgerPolicy
from app.merchants.models import (
    Merchant,
    MerchantKind,
    MerchantStatus,
    Offer,
    OfferStatus,
    Store,
    staff_stores,
)
from app.redemption import services, tokens
from tests.factories import PASSWORD, credentials, make_user, next_mobile

SHANGHAI = ZoneInfo("Asia/Shanghai")
_keys = itertools.count(1)


def make_merchant(
    session: Session,
    *,
    name: str = "绿色停车场",
    kind: MerchantKind = MerchantKind.PARKING,
    status: MerchantStatus = MerchantStatus.APPROVED,
) -> tuple[Merchant, Store]:
    merchant = Merchant(name=name, kind=kind, status=status, contact_name="王经理")
    session.add(merchant)
    session.flush()
    store = Store(merchant_id=merchant.id, name=f"{name}一号店", address="银川市金凤区正源街 1 号")
    session.add(store)
    session.flush()
    return merchant, store


def make_staff(
    session: Session, merchant: Merchant, role: str = "manager", *, stores: Sequence[Store] = ()
) -> User:
    """A manager, or a cashier working at ``stores`` (default: every store the merchant has)."""
    user = accounts.create_merchant_staff(
        session,
        SYSTEM,
        merchant_id=merchant.id,
        merchant_role=MerchantRole(role),
        mobile=next_mobile(),
        password=PASSWORD,
        display_name=f"{merchant.name}{'店长' if role == 'manager' else '收银员'}",
    )
    if user.merchant_role == MerchantRole.CASHIER:
        store_ids = [store.id for store in stores] or list(
            session.scalars(sa.select(Store.id).where(Store.merchant_id == merchant.id))
        )
        session.execute(
            staff_stores.insert(), [{"user_id": user.id, "store_id": id_} for id_ in store_ids]
        )
    return user


def make_offer(session: Session, merchant: Merchant, store: Store, **fields: Any) -> Offer:
    """An active parking offer valid from 2020 to 2100 unless told otherwise."""
    values: dict[str, Any] = {
        "reward_type": "parking_discount",
        "config": {"free_minutes": 60, "valid_days": 30},
        "title": "60 分钟免费停车",
        "points_price": 500,
        "stock": None,
        "daily_limit": None,
        "monthly_limit": None,
        "valid_from": datetime(2020, 1, 1, tzinfo=UTC),
        "valid_until": datetime(2100, 1, 1, tzinfo=UTC),
        "public_service": True,
        "status": OfferStatus.ACTIVE,
    }
    values.update(fields)
    offer = Offer(merchant_id=merchant.id, stores=[store], **values)
    session.add(offer)
    session.flush()
    return offer


def give_points(session: Session, holder: User, points: int) -> None:
    ledger.adjust(
        session,
        SYSTEM,
        holder_id=holder.id,
        points=points,
        reason="测试积分",
        idempotency_key=f"test-points:{next(_keys)}",
        policy=LedgerPolicy(zone=SHANGHAI),
    )


def balance(session: Session, holder: User) -> int:
    session.expire_all()
    return ledger.balance(session, holder.id)


def key(app: Flask) -> bytes:
    return tokens.signing_key(app.config["SECRET_KEY"])


def issue(
    app: Flask, session: Session, holder: User, offer: Offer, *, now: datetime | None = None
) -> services.IssuedToken:
    return services.issue_token(
        session,
        holder_id=holder.id,
        offer_id=offer.id,
        now=now or datetime.now(UTC),
        lifetime_seconds=60,
        key=key(app),
        zone=SHANGHAI,
    )


def api_headers(client: FlaskClient, user: User) -> dict[str, str]:
    response = client.post("/api/v1/auth/tokens", json=credentials(user))
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def token_row(session: Session, token_id: int) -> Any:
    from app.redemption.models import RedemptionToken

    session.expire_all()
    return session.get(RedemptionToken, token_id)


def offer_stock(session: Session, offer: Offer) -> int | None:
    return session.scalar(sa.select(Offer.stock).where(Offer.id == offer.id))


def later(instant: datetime, **delta: float) -> datetime:
    return instant + timedelta(**delta)


@dataclass
class Scene:
    """A merchant with a store, an offer, a manager and a cashier, and a resident with points."""

    merchant: Merchant
    store: Store
    offer: Offer
    manager: User
    cashier: User
    resident: User


def make_scene(session: Session) -> Scene:
    merchant, store = make_merchant(session)
    offer = make_offer(session, merchant, store, stock=10)
    resident = make_user(session, Role.RESIDENT, display_name="张小绿")
    give_points(session, resident, 2000)
    return Scene(
        merchant=merchant,
        store=store,
        offer=offer,
        manager=make_staff(session, merchant, "manager"),
        cashier=make_staff(session, merchant, "cashier"),
        resident=resident,
    )
