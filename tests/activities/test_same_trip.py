"""The same ride reported by two sources is credited once, at every edge of the matching rule.

The rule (``app.activities.matching``): two reports of one kind for one participant from different
sources are one trip when their intervals overlap or their starts are within 5 minutes, and their
distances agree within 20 % of the longer or 0.5 km, whichever is more. Overlapping trips are
never both credited. The oracle below restates the rule independently; bus rides without a
duration last their distance at 60 km/h (one minute per km).
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.activities import pipeline
from app.activities.models import Activity, ActivityStatus
from app.ledger.models import Issuance
from app.reductions.models import Reduction
from tests.activities.support import at, configure, link, make_partner, post_batch, ride
from tests.factories import make_user

CITY = ZoneInfo("Asia/Shanghai")
#: Around local midnight, and around the turn of a month, in the city's time zone.
BASES = (
    at(0),
    at(8, 9),  # 08:09, a minute before an old 10-minute bucket edge
    datetime(2026, 11, 1, tzinfo=CITY),
    datetime(2026, 10, 31, 23, 57, tzinfo=CITY),
)
TOLERANCE = timedelta(minutes=5)
_cards = itertools.count()


def _distance_pair(draw: st.DrawFn) -> tuple[Decimal, Decimal]:
    """Two distances centred on the tolerance's edge: at it, a step inside, a step past."""
    n = draw(st.integers(min_value=3, max_value=60))
    shorter = Decimal(n) * Decimal("0.4")  # 1.2 … 24 km; 1.25 × it has one decimal place
    edge = max(shorter * Decimal("1.25"), shorter + Decimal("0.5"))
    step = draw(st.sampled_from([Decimal("-0.1"), Decimal(0), Decimal("0.1"), Decimal(3)]))
    longer = edge + step
    if draw(st.booleans()):
        return shorter, longer
    return longer, shorter


@st.composite
def pairs(draw: st.DrawFn) -> dict[str, object]:
    base = draw(st.sampled_from(BASES))
    gap = draw(
        st.one_of(
            st.sampled_from([0, 1, 59, 299, 300, 301, 599, 600, 601]),
            st.integers(min_value=0, max_value=1_800),
        )
    )
    first_km, second_km = _distance_pair(draw)
    # No duration, or one plausible for a bus (at most 60 km/h: a minute per km or more).
    first_minutes = draw(st.sampled_from([None, 0, 2, 25]))
    second_minutes = draw(st.sampled_from([None, 0, 3, 25]))
    if first_minutes is not None:
        first_minutes += math.ceil(first_km)
    if second_minutes is not None:
        second_minutes += math.ceil(second_km)
    return {
        "first": (base, first_km, first_minutes),
        "second": (base + timedelta(seconds=gap), second_km, second_minutes),
        "swap": draw(st.booleans()),  # which source reports first
    }


def _interval(start: datetime, km: Decimal, minutes: int | None) -> tuple[datetime, datetime]:
    duration = timedelta(minutes=minutes) if minutes else timedelta(seconds=int(km * 60))
    return start, start + max(duration, timedelta(minutes=1))


def expected_credits(pair: dict[str, object]) -> int:
    (s1, d1, m1), (s2, d2, m2) = pair["first"], pair["second"]
    a, b = _interval(s1, d1, m1), _interval(s2, d2, m2)
    overlap = a[0] < b[1] and b[0] < a[1]
    close = abs(s1 - s2) <= TOLERANCE
    agree = abs(d1 - d2) <= max(Decimal("0.2") * max(d1, d2), Decimal("0.5"))
    return 1 if overlap or (close and agree) else 2


def _item(external_id: str, card: str, start: datetime, km: Decimal, minutes: int | None) -> dict:
    item = ride(external_id, card, start, km=str(km))
    if minutes is None:
        del item["quantities"]["duration_minutes"]
    else:
        item["quantities"]["duration_minutes"] = str(minutes)
    return item


def _credited(session, resident_id: int) -> int:
    verified = session.scalar(
        sa.select(sa.func.count())
        .select_from(Activity)
        .where(Activity.participant_id == resident_id, Activity.status == ActivityStatus.VERIFIED)
    )
    issued = session.scalar(
        sa.select(sa.func.count())
        .select_from(Issuance)
        .join(Reduction, Reduction.id == Issuance.reduction_id)
        .where(Reduction.participant_id == resident_id)
    )
    assert verified == issued
    return verified


def _reports(pair: dict[str, object], card: str) -> list[dict]:
    first = _item(f"{card}-a", card, *pair["first"])
    second = _item(f"{card}-b", card, *pair["second"])
    return [second, first] if pair["swap"] else [first, second]


_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(pair=pairs())
@example(  # the old bug: either side of a 10-minute bucket edge and of a whole-km rounding edge
    pair={
        "first": (at(8, 9), Decimal("4.4"), None),
        "second": (at(8, 11), Decimal("4.6"), None),
        "swap": False,
    }
)
def test_two_sources_one_after_the_other(city, client, session, pair):
    operator, card_company = _partners(city, session)
    card = f"SEQ-{next(_cards):06d}"
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", card)
    first, second = _reports(pair, card)
    for key, item in ((operator, first), (card_company, second)):
        assert post_batch(client, key, [item]).status_code == 200
    assert _credited(session, resident.id) == expected_credits(pair)


@_SETTINGS
@given(pair=pairs())
def test_two_sources_held_then_released_together_on_linking(city, client, session, pair):
    operator, card_company = _partners(city, session)
    card = f"HLD-{next(_cards):06d}"
    first, second = _reports(pair, card)
    for key, item in ((operator, first), (card_company, second)):
        assert post_batch(client, key, [item]).get_json()["results"][0]["status"] == "held"
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", card)
    assert _credited(session, resident.id) == expected_credits(pair)


_made: dict[int, tuple] = {}


def _partners(app, session):
    """Two partners per test app (hypothesis runs many examples on one)."""
    made = _made.get(id(app))
    if made is None or made[0] is not app:
        made = (
            app,
            make_partner(app, session, ["bus_ride"]),
            make_partner(app, session, ["bus_ride"]),
        )
        _made[id(app)] = made
    return made[1], made[2]


def test_the_oracle_matches_the_documented_edges():
    start = at(8)
    same = {"first": (start, Decimal(8), 10), "second": (start + TOLERANCE, Decimal(10), 10)}
    assert expected_credits(same) == 1  # starts exactly 5 min apart, 10 km is 1.25 × 8 km
    later = {"first": (start, Decimal(8), 1), "second": (start + TOLERANCE + timedelta(seconds=1),
                                                        Decimal(8), 1)}  # fmt: skip
    assert expected_credits(later) == 2
    farther = {"first": (start, Decimal(8), 1), "second": (start, Decimal("10.1"), 1)}
    assert expected_credits(farther) == 1  # distances disagree, but the two overlap


def test_a_batch_reads_only_the_trips_near_its_own_not_the_day(city, client, session, monkeypatch):
    """A card with a full day of trips: the next ride's rules read the one trip that can still
    overlap it and the day's count (summed by the database), not thirty rows."""
    configure(city, MAX_TRIPS_PER_DAY=100)
    operator, _ = _partners(city, session)
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "BUSY-0001")
    day = [
        ride(f"busy-{n}", "BUSY-0001", at(5) + timedelta(minutes=20 * n), km="2", minutes="10")
        for n in range(30)
    ]  # 05:00 … 14:40, each ten minutes long
    assert post_batch(client, operator, day).status_code == 200
    seen = []
    load = pipeline._load_history

    def spy(*args, **kwargs):
        history = load(*args, **kwargs)
        seen.append((dict(history.credited), dict(history.trips)))
        return history

    monkeypatch.setattr(pipeline, "_load_history", spy)
    late = ride("busy-late", "BUSY-0001", at(14, 48), km="2", minutes="10")
    (result,) = post_batch(client, operator, [late]).get_json()["results"]
    assert result["status"] == "rejected" and result["reasons"][0]["code"] == "overlapping_trip"
    ((credited, counts),) = seen
    assert [trip.start for trip in credited[resident.id]] == [at(14, 40)]
    assert counts[resident.id, at(12).astimezone(CITY).date()] == 30
