"""A partner's record arriving at the very moment the resident answers or links the card, with
real commits on PostgreSQL: whichever transaction commits first, what waited is credited once
after an agreement or a link and purged after a refusal, never left held."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session

from app import context as edge
from app.activities import ingest, links
from app.activities.models import Activity, ActivityStatus, LinkedIdentifier
from app.activities.signatures import Sender
from app.db import db
from app.ledger.models import Issuance
from app.reductions.models import Reduction
from tests.activities.support import DAY, approve_methodologies, at, link, make_partner, ride
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import make_user

pytestmark = pytest.mark.postgres_only

CARD = "RACE-4242"

Step = Callable[[Session], object]


@pytest.fixture
def own_app(database, tmp_path) -> Iterator[object]:
    own = create_test_database("postgresql", tmp_path)
    application = make_app(own)
    yield application
    drop_test_database(own)


def _ingest_a_metro_ride(metro, sender_name: str) -> Step:
    sender = Sender(
        partner_id=metro.partner_id, partner_name=sender_name,
        allowed_kinds=frozenset({"metro_ride"}), key_id=metro.key_id, message_id="msg-race",
    )  # fmt: skip
    payload = {"activities": [ride("m-1", CARD, at(8), kind="metro_ride")]}
    settings = edge.ingest_settings()
    return lambda session: ingest.ingest_batch(session, sender, payload, settings)


def _answer(resident_id: int, link_id: int, partner_id: int, *, agree: bool) -> Step:
    settings = edge.pipeline_settings()
    return lambda session: links.answer_partner(
        session, resident_id, link_id, partner_id, agree=agree, channel="api", settings=settings
    )


def _issued_to(session: Session, resident_id: int) -> int:
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(Issuance)
        .join(Reduction, Reduction.id == Issuance.reduction_id)
        .where(Reduction.participant_id == resident_id)
    )


def _waits_for_a_lock(pid: int) -> bool:
    with db.engine.connect() as watcher:
        return (
            watcher.scalar(
                sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            )
            == "Lock"
        )


def _interleave(app, first: Step, second: Step) -> None:
    """``first`` runs and keeps its transaction open; ``second`` runs meanwhile in another
    connection and commits; then ``first`` commits. ``second`` may wait for ``first``'s locks."""
    engine = db.engine
    failures: list[BaseException] = []
    started = threading.Event()
    pid: list[int] = []

    def run_second() -> None:
        try:
            with app.app_context(), Session(engine) as session:
                pid.append(session.scalar(sa.text("SELECT pg_backend_pid()")))
                started.set()
                second(session)
                session.commit()
        except BaseException as error:  # reported by the test's thread
            failures.append(error)
            started.set()

    with Session(engine) as session:
        first(session)
        thread = threading.Thread(target=run_second)
        thread.start()
        started.wait(10)
        deadline = time.monotonic() + 10
        while thread.is_alive() and time.monotonic() < deadline:
            if pid and _waits_for_a_lock(pid[0]):
                break
            time.sleep(0.02)
        session.commit()
    thread.join(10)
    assert not thread.is_alive()
    assert not failures, failures


@pytest.mark.parametrize("agree", [True, False], ids=["agree", "decline"])
@pytest.mark.parametrize("record_first", [True, False], ids=["record-first", "answer-first"])
def test_a_record_arriving_while_the_resident_answers_is_decided_once(own_app, record_first, agree):
    with time_machine.travel(DAY + timedelta(hours=20), tick=False), own_app.app_context():
        session = db.session
        approve_methodologies(own_app, session)
        make_partner(own_app, session, ["bus_ride"], name="银川公交")
        resident = make_user(session)
        session.commit()
        link(own_app, session, resident.id, "transit_card", CARD)
        metro = make_partner(own_app, session, ["metro_ride"], name="银川地铁")
        link_id = session.scalar(sa.select(LinkedIdentifier.id))
        record = _ingest_a_metro_ride(metro, "银川地铁")
        answer = _answer(resident.id, link_id, metro.partner_id, agree=agree)
        steps = (record, answer) if record_first else (answer, record)
        _interleave(own_app, *steps)
        session.expire_all()
        activity = session.scalar(sa.select(Activity).where(Activity.external_id == "m-1"))
        issued = _issued_to(session, resident.id)
        if agree:
            assert activity.status == ActivityStatus.VERIFIED
            assert activity.participant_id == resident.id and activity.identifier_hash is None
            assert issued == 1
        else:
            assert activity.status == ActivityStatus.EXPIRED
            assert activity.identifier_hash is None and activity.quantities == {}
            assert [reason["code"] for reason in activity.reasons] == ["consent_declined"]
            assert issued == 0
        assert (
            session.scalar(sa.select(sa.func.count()).where(Activity.status == ActivityStatus.HELD))
            == 0
        )


@pytest.mark.parametrize("record_first", [True, False], ids=["record-first", "link-first"])
def test_a_record_arriving_while_its_card_is_linked_is_credited_once(own_app, record_first):
    with time_machine.travel(DAY + timedelta(hours=20), tick=False), own_app.app_context():
        session = db.session
        approve_methodologies(own_app, session)
        metro = make_partner(own_app, session, ["metro_ride"], name="银川地铁")
        resident = make_user(session)
        session.commit()
        record = _ingest_a_metro_ride(metro, "银川地铁")
        settings, key = edge.pipeline_settings(), edge.identifier_key()

        def link_the_card(own: Session) -> object:
            return links.link(
                own, resident.id, kind="transit_card", identifier=CARD, label=None,
                identifier_key=key, settings=settings, channel="web",
            )  # fmt: skip

        steps = (record, link_the_card) if record_first else (link_the_card, record)
        _interleave(own_app, *steps)
        session.expire_all()
        activity = session.scalar(sa.select(Activity).where(Activity.external_id == "m-1"))
        assert activity.status == ActivityStatus.VERIFIED
        assert activity.participant_id == resident.id and activity.identifier_hash is None
        assert _issued_to(session, resident.id) == 1
