"""Concurrent batches with real commits on PostgreSQL: caps hold, the same ride is credited once."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, given, settings

from app.db import db
from app.reductions.models import Reduction
from tests.activities.support import DAY, approve_methodologies, at, link, make_partner, post_batch
from tests.activities.test_outcomes import FULL, _rides
from tests.activities.test_same_trip import _credited, _reports, expected_credits, pairs
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import make_user

pytestmark = pytest.mark.postgres_only
_cards = itertools.count()


@pytest.fixture(scope="module")
def own_app(tmp_path_factory) -> Iterator[object]:
    own = create_test_database("postgresql", tmp_path_factory.mktemp("outcomes"))
    application = make_app(own)
    with time_machine.travel(DAY + timedelta(hours=20), tick=False), application.app_context():
        approve_methodologies(application, db.session)
        keys = tuple(make_partner(application, db.session, ["bus_ride"]) for _ in range(2))
        application.config["TEST_PARTNER_KEYS"] = keys
    yield application
    drop_test_database(own)


def _at_once(app, batches) -> list[int]:
    """Send each (key, items) batch from its own thread, released together."""
    statuses: list[int] = []
    barrier = threading.Barrier(len(batches))

    def send(key, items) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(post_batch(client, key, items).status_code)

    threads = [threading.Thread(target=send, args=batch) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_batches_together_never_pass_the_daily_cap(own_app):
    with time_machine.travel(DAY + timedelta(hours=20), tick=False), own_app.app_context():
        session = db.session
        first, second = own_app.config["TEST_PARTNER_KEYS"]
        resident = make_user(session)
        session.commit()
        link(own_app, session, resident.id, "transit_card", "CAPRACE-1")
        # Three rides of 1,000 g each side: six in all, the bus's daily cap is 4,000 g.
        mine = _rides("CAPRACE-1", [at(6), at(7), at(8)], "p", FULL)
        theirs = _rides("CAPRACE-1", [at(9), at(10), at(11)], "q", FULL)
        assert _at_once(own_app, [(first, mine), (second, theirs)]) == [200, 200]
        session.rollback()
        credited = session.scalars(
            sa.select(Reduction.credited_g).where(Reduction.participant_id == resident.id)
        ).all()
        assert len(credited) == 6 and sum(credited) == 4_000
        assert sorted(credited) == [0, 0, 1000, 1000, 1000, 1000]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pair=pairs())
def test_two_sources_at_once_credit_the_same_ride_once(own_app, pair):
    with time_machine.travel(DAY + timedelta(hours=20), tick=False), own_app.app_context():
        session = db.session
        first_key, second_key = own_app.config["TEST_PARTNER_KEYS"]
        card = f"RACE-{next(_cards):06d}"
        resident = make_user(session)
        session.commit()
        link(own_app, session, resident.id, "transit_card", card)
        first, second = _reports(pair, card)
        assert _at_once(own_app, [(first_key, [first]), (second_key, [second])]) == [200, 200]
        session.rollback()
        assert _credited(session, resident.id) == expected_credits(pair)
