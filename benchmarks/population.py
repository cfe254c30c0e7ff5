"""A city to run the production topology against: seeded through the platform's own services.

Used by the topology test (tests/topology) and the load benchmark (benchmarks/load.py). The app
given must run on the topology's database, directly (not through the pooler), with the
topology's SECRET_KEY: transit cards are hashed and QR tokens signed with keys derived from it.

Every account gets the same password, so the password is hashed once (argon2 costs about half a
second a hash on a busy 2-core machine, and the residents are hundreds); API tokens are minted by
the accounts service as a sign-in would, so the load starts without hundreds of sign-ins.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from unittest import mock

import sqlalchemy as sa
from flask import Flask

from app import context as edge
from app.accounts import consents
from app.accounts import services as accounts
from app.accounts.models import MerchantRole, User
from app.accounts.roles import Role
from app.activities import links, partners, simulator
from app.audit.services import SYSTEM, Actor
from app.db import db
from app.ledger import services as ledger
from app.merchants.models import (
    Merchant,
    MerchantKind,
    MerchantStatus,
    Offer,
    OfferStatus,
    Store,
    staff_stores,
)
from app.methodology.services import register_and_approve
from methodologies.transit import TRANSIT_CARD

PASSWORD = "topology-2026-pass"  # test and benchmark accounts only
TOKEN_SECONDS = 24 * 3600
MOBILE_BASE = 15_500_000_000


@dataclass(frozen=True)
class Resident:
    id: int
    index: int  # simulator.identifiers(index).card is the transit card linked to the account
    token: str  # API bearer token


@dataclass(frozen=True)
class Population:
    partner: simulator.PartnerCredentials
    residents: list[Resident]
    cashier_tokens: list[str]
    #: An offer with no stock limit, priced so each resident can redeem it many times.
    open_offer_id: int
    open_offer_price: int


@contextmanager
def _one_password_hash() -> Iterator[None]:
    """Every account has the same password: hash it once."""
    with mock.patch.object(accounts, "hash_password", functools.cache(accounts.hash_password)):
        yield


def _mobile(serial: int) -> str:
    return str(MOBILE_BASE + serial)


def seed(app: Flask, *, residents: int, cashiers: int, points: int) -> Population:
    """Methodologies approved, a transit partner, a parking merchant with one store and an open
    offer, ``cashiers`` cashiers, ``residents`` residents with a linked transit card and
    ``points`` points each. Run once per database."""
    with app.app_context(), _one_password_hash(), db.unit_of_work() as session:
        admins = [
            accounts.create_staff(
                session,
                SYSTEM,
                mobile=_mobile(n),
                password=PASSWORD,
                display_name=f"管理员{n}",
                role=Role.BUREAU_ADMIN,
            )
            for n in (1, 2)
        ]
        register_and_approve(
            session,
            edge.current().methodologies,
            submitter=Actor(admins[0].id, admins[0].role),
            approver=Actor(admins[1].id, admins[1].role),
            effective_from=datetime(2020, 1, 1, tzinfo=UTC),
            comment="topology defaults",
        )
        _partner, issued = partners.register_partner(
            session,
            SYSTEM,
            name="银川公交",
            allowed_kinds=["bus_ride", "metro_ride"],
            known_kinds=edge.partner_kinds(),
            secret_key=app.config["SECRET_KEY"],
        )
        merchant = Merchant(
            name="凤凰停车场",
            kind=MerchantKind.PARKING,
            status=MerchantStatus.APPROVED,
            contact_name="王经理",
        )
        session.add(merchant)
        session.flush()
        store = Store(merchant_id=merchant.id, name="凤凰停车场一号店", address="银川市金凤区")
        session.add(store)
        session.flush()
        offer = add_offer(session, merchant.id, store.id, stock=None, points_price=10)
        cashier_tokens = []
        for n in range(cashiers):
            cashier = accounts.create_merchant_staff(
                session,
                SYSTEM,
                merchant_id=merchant.id,
                merchant_role=MerchantRole.CASHIER,
                mobile=_mobile(100 + n),
                password=PASSWORD,
                display_name=f"收银员{n}",
            )
            session.execute(staff_stores.insert(), [{"user_id": cashier.id, "store_id": store.id}])
            cashier_tokens.append(_api_token(session, cashier))
        settings = edge.pipeline_settings()
        key = edge.identifier_key()
        notice = str(app.config["PRIVACY_NOTICE_VERSION"])  # residents who signed up accepted it
        people = []
        for n in range(residents):
            resident = accounts.register_resident(
                session, mobile=_mobile(10_000 + n), password=PASSWORD, display_name=f"居民{n}"
            )
            consents.record_notice(session, resident.id, version=notice, channel="web")
            links.link(
                session,
                resident.id,
                kind=TRANSIT_CARD.code,
                identifier=simulator.identifiers(n).card,
                label=None,
                identifier_key=key,
                settings=settings,
                channel="web",
            )
            if points:
                ledger.adjust(
                    session,
                    SYSTEM,
                    holder_id=resident.id,
                    points=points,
                    reason="压力测试积分",
                    idempotency_key=f"topology-points:{resident.id}",
                    policy=edge.current().ledger_policy,
                )
            people.append(Resident(resident.id, n, _api_token(session, resident)))
        return Population(
            partner=simulator.PartnerCredentials(
                "银川公交", ("bus_ride", "metro_ride"), issued.key_id, issued.secret
            ),
            residents=people,
            cashier_tokens=cashier_tokens,
            open_offer_id=offer.id,
            open_offer_price=offer.points_price,
        )


def add_offer(
    session: sa.orm.Session,
    merchant_id: int,
    store_id: int,
    *,
    stock: int | None,
    points_price: int,
) -> Offer:
    offer = Offer(
        merchant_id=merchant_id,
        stores=[session.get(Store, store_id)],
        reward_type="parking_discount",
        config={"free_minutes": 60, "valid_days": 30},
        title="60 分钟免费停车",
        points_price=points_price,
        stock=stock,
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
        valid_until=datetime(2100, 1, 1, tzinfo=UTC),
        public_service=True,
        status=OfferStatus.ACTIVE,
    )
    session.add(offer)
    session.flush()
    return offer


def add_scarce_offer(app: Flask, *, stock: int, points_price: int) -> int:
    """A further offer of the population's merchant with only ``stock`` items left."""
    with app.app_context(), db.unit_of_work() as session:
        merchant_id, store_id = session.execute(
            sa.select(Store.merchant_id, Store.id).order_by(Store.id).limit(1)
        ).one()
        return add_offer(session, merchant_id, store_id, stock=stock, points_price=points_price).id


def _api_token(session: sa.orm.Session, user: User) -> str:
    token, _expires = accounts.issue_api_token(session, user, lifetime_seconds=TOKEN_SECONDS)
    return token
