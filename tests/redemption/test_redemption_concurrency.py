"""Concurrent confirmations on PostgreSQL, through the API with real commits.

One token confirmed 200 times at once from 10 cashiers' sessions is redeemed exactly once; 200
residents racing for the last 10 items get exactly 10; no wallet goes below zero and the ledger
reconciles afterwards.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from app.accounts.roles import Role
from app.db import db
from app.ledger import services as ledger
from app.merchants.models import Offer
from app.redemption.models import Redemption, RedemptionToken
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import make_user
from tests.merchants.support import (
    api_headers,
    give_points,
    issue,
    make_merchant,
    make_offer,
    make_staff,
)

pytestmark = pytest.mark.postgres_only

THREADS = 200


@pytest.fixture
def committed_app(database, tmp_path) -> Iterator[Flask]:
    """An app on a database of its own where every request really commits."""
    own = create_test_database(database.backend, tmp_path, pool_size=20, max_overflow=20)
    try:
        yield make_app(own)
    finally:
        drop_test_database(own)


def confirm_all(app: Flask, calls: list[tuple[dict[str, str], str]]) -> Counter[str]:
    """POST each (headers, token) confirmation from its own thread, all released at once."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def worker(index: int) -> None:
        headers, token = calls[index]
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/merchant/redemptions", json={"token": token}, headers=headers
        )
        body = response.get_json()
        outcomes[index] = "redeemed" if response.status_code == 201 else body["reason"]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(outcomes)


def check_ledger(app: Flask) -> None:
    with app.app_context(), db.unit_of_work() as session:
        report = ledger.reconcile(session)
        assert report.ok, report
        assert report.negative_wallets == 0


def test_one_token_confirmed_200_times_from_10_sessions(committed_app):
    app = committed_app
    with app.app_context(), db.unit_of_work() as session:
        merchant, store = make_merchant(session)
        offer = make_offer(session, merchant, store, stock=50)
        resident = make_user(session, Role.RESIDENT)
        give_points(session, resident, 5000)
        cashiers = [make_staff(session, merchant, "cashier") for _ in range(10)]
        token = issue(app, session, resident, offer)
        offer_id, resident_id = offer.id, resident.id
    client = app.test_client()
    sessions = [api_headers(client, cashier) for cashier in cashiers]

    outcomes = confirm_all(app, [(sessions[i % 10], token.signed) for i in range(THREADS)])

    assert outcomes == Counter({"redeemed": 1, "token_used": THREADS - 1})
    with app.app_context(), db.unit_of_work() as session:
        assert ledger.balance(session, resident_id) == 4500
        assert session.scalar(sa.select(Offer.stock).where(Offer.id == offer_id)) == 49
        assert session.scalar(sa.select(sa.func.count()).select_from(Redemption)) == 1
        row = session.get(RedemptionToken, token.id)
        assert row.outcome == "redeemed"
        assert row.replays == THREADS - 1
    check_ledger(app)


def test_200_residents_race_for_the_last_10_items(committed_app):
    app = committed_app
    with app.app_context(), db.unit_of_work() as session:
        merchant, store = make_merchant(session)
        offer = make_offer(session, merchant, store, stock=10, points_price=300)
        cashiers = [make_staff(session, merchant, "cashier") for _ in range(10)]
        residents = [make_user(session, Role.RESIDENT) for _ in range(THREADS)]
        for resident in residents:
            give_points(session, resident, 400)
        tokens = [issue(app, session, resident, offer).signed for resident in residents]
        offer_id = offer.id
        resident_ids = [resident.id for resident in residents]
    client = app.test_client()
    sessions = [api_headers(client, cashier) for cashier in cashiers]

    outcomes = confirm_all(app, [(sessions[i % 10], tokens[i]) for i in range(THREADS)])

    assert outcomes == Counter({"redeemed": 10, "out_of_stock": THREADS - 10})
    with app.app_context(), db.unit_of_work() as session:
        assert session.scalar(sa.select(Offer.stock).where(Offer.id == offer_id)) == 0
        balances = Counter(ledger.balance(session, resident_id) for resident_id in resident_ids)
        assert balances == Counter({100: 10, 400: THREADS - 10})
    check_ledger(app)


@pytest.mark.parametrize("stock", [None, 100], ids=["no-stock", "with-stock"])
def test_one_residents_tokens_at_once_cannot_pass_the_daily_limit(committed_app, stock):
    """The limit is counted once the burn locked the wallet, so the racers are counted in turn,
    whether the limit is checked alone or in the statement that takes the stock."""
    app = committed_app
    with app.app_context(), db.unit_of_work() as session:
        merchant, store = make_merchant(session)
        offer = make_offer(session, merchant, store, daily_limit=2, points_price=400, stock=stock)
        offer_id = offer.id
        resident = make_user(session, Role.RESIDENT)
        give_points(session, resident, 5000)
        cashier = make_staff(session, merchant, "cashier")
        tokens = [issue(app, session, resident, offer).signed for _ in range(6)]
        resident_id = resident.id
    headers = api_headers(app.test_client(), cashier)

    outcomes = confirm_all(app, [(headers, token) for token in tokens])

    assert outcomes == Counter({"redeemed": 2, "daily_limit_reached": 4})
    with app.app_context(), db.unit_of_work() as session:
        assert ledger.balance(session, resident_id) == 4200
        taken = session.scalar(sa.select(Offer.stock).where(Offer.id == offer_id))
        assert taken == (None if stock is None else stock - 2)
    check_ledger(app)
