"""Concurrent batches with real commits on PostgreSQL: nothing is ingested or credited twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session

from app.activities.models import Activity
from app.activities.pipeline import lock_participants
from app.db import db
from app.ledger.accounts import locked_balance
from app.ledger.models import Issuance
from tests.activities.support import (
    DAY,
    approve_methodologies,
    at,
    link,
    make_partner,
    post_batch,
    ride,
)
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import make_user
from tests.merchants.support import give_points

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def own_app(database, tmp_path) -> Iterator[object]:
    own = create_test_database("postgresql", tmp_path)
    application = make_app(own)
    yield application
    drop_test_database(own)


def test_the_same_batch_sent_twice_at_once_is_ingested_and_credited_once(own_app):
    with time_machine.travel(DAY + timedelta(hours=20), tick=False), own_app.app_context():
        session = db.session
        approve_methodologies(own_app, session)
        key = make_partner(own_app, session, ["bus_ride", "metro_ride"])
        residents = [make_user(session) for _ in range(20)]
        session.commit()
        for n, resident in enumerate(residents):
            link(own_app, session, resident.id, "transit_card", f"CARD-{n:04d}")
        items = [
            ride(f"r{n}-{k}", f"CARD-{n:04d}", at(7 + 2 * k)) for n in range(20) for k in range(3)
        ]
        statuses: list[int] = []
        barrier = threading.Barrier(2)

        def send() -> None:
            client = own_app.test_client()
            barrier.wait()
            statuses.append(post_batch(client, key, items).status_code)

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) in ([200, 200], [200, 409])
        session.rollback()
        assert session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 60
        assert session.scalar(sa.select(sa.func.count()).select_from(Issuance)) == 60


def test_a_batch_deciding_for_a_resident_holds_the_resident_not_the_wallet(own_app):
    """While a partner's batch decides what to credit a resident, another batch for that resident
    waits, but the resident's own wallet (what a counter's confirmation locks) stays free."""
    with own_app.app_context():
        session = db.session
        resident = make_user(session)
        give_points(session, resident, 500)
        session.commit()
        engine = db.engine
        with engine.connect() as batch_conn, engine.connect() as other_conn:
            deciding = Session(bind=batch_conn)
            lock_participants(deciding, [resident.id])
            other_conn.execute(sa.text("SET lock_timeout = '1s'"))
            other_conn.commit()  # a setting of the connection, not of one transaction
            other = Session(bind=other_conn)
            assert locked_balance(other, resident.id) == 500  # the wallet answers at once
            other.rollback()
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                lock_participants(other, [resident.id])  # a second batch waits its turn
            other.rollback()
            deciding.rollback()
            lock_participants(other, [resident.id])  # and goes on once the first has ended
            other.rollback()
