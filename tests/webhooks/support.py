"""A bank that funds a reward, its manager, and a resident with points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.accounts.roles import Role
from app.jobs.runner import RunResult, run_job
from app.merchants.models import Merchant, MerchantKind, Offer, Store
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.factories import make_user
from tests.merchants.support import api_headers, give_points, make_merchant, make_offer, make_staff

#: When the tests happen (the clock is frozen there).
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
CASHBACK_CONFIG = {
    "product": "card_cashback",
    "product_name": {"zh": "绿色低碳信用卡", "en": "Green Card"},
    "cashback_fen": 1000,
    "valid_days": 90,
}


@dataclass
class BankScene:
    bank: Merchant
    branch: Store
    offer: Offer
    manager: User
    cashier: User
    resident: User


def make_bank_scene(session: Session, *, stock: int | None = None) -> BankScene:
    bank, branch = make_merchant(session, name="银川绿色银行", kind=MerchantKind.FINANCIAL)
    offer = make_offer(
        session,
        bank,
        branch,
        reward_type="bank_reward",
        config=CASHBACK_CONFIG,
        title="绿色信用卡返现 10 元",
        points_price=800,
        stock=stock,
        public_service=False,
    )
    resident = make_user(session, Role.RESIDENT, display_name="张小绿")
    give_points(session, resident, 2000)
    scene = BankScene(
        bank=bank,
        branch=branch,
        offer=offer,
        manager=make_staff(session, bank, "manager"),
        cashier=make_staff(session, bank, "cashier"),
        resident=resident,
    )
    session.commit()
    return scene


def register_endpoint(
    client: FlaskClient, manager: User, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/merchant/webhooks/endpoints",
        json={"url": url, "event_types": events or ["redemption.confirmed"]},
        headers=api_headers(client, manager),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def redeem(client: FlaskClient, resident: User, offer: Offer) -> Any:
    return client.post(
        f"/api/v1/wallet/offers/{offer.id}/redemptions", headers=api_headers(client, resident)
    )


def deliver_at(app: Flask, instant: datetime) -> RunResult:
    with time_machine.travel(instant, tick=False), app.app_context():
        result = run_job("deliver-webhooks", trigger="cli")
    assert result is not None
    return result


def deliveries(session: Session) -> list[WebhookDelivery]:
    session.expire_all()
    return list(session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def attempts(session: Session) -> list[WebhookAttempt]:
    session.expire_all()
    return list(session.scalars(sa.select(WebhookAttempt).order_by(WebhookAttempt.id)))
