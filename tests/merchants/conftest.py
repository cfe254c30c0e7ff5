"""A merchant with a store, an offer, a manager and a cashier, and a resident with points."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.accounts.models import User
from app.accounts.roles import Role
from app.merchants.models import Merchant, Offer, Store
from tests.factories import make_user
from tests.merchants.support import give_points, make_merchant, make_offer, make_staff


@dataclass
class Scene:
    merchant: Merchant
    store: Store
    offer: Offer
    manager: User
    cashier: User
    resident: User


@pytest.fixture
def scene(session) -> Scene:
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
