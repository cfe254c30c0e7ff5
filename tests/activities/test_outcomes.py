"""What an activity comes to: the version in effect decides, caps hold, "no reduction" is said."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app import context as edge
from app.accounts.roles import Role
from app.activities.models import Activity, ActivityStatus
from app.audit.services import Actor
from app.ledger.models import Issuance, Transaction
from app.methodology import services as methodology
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction
from methodologies.kinds import QuantityField
from methodologies.parameters import Parameter
from methodologies.text import Text
from methodologies.transit import BusRide
from tests.activities.support import (
    STATUS_URL,
    at,
    configure,
    link,
    make_partner,
    post_batch,
    ride,
    signed_headers,
)
from tests.factories import csrf_token_from, log_in, make_user

CITY = ZoneInfo("Asia/Shanghai")


class BusFareRide(BusRide):
    """A later bus methodology that also needs the fare: the same kind, another plugin."""

    code = "bus_fare"
    version = "1.0.0"
    kind = dataclasses.replace(
        BusRide.kind,
        fields=(
            *BusRide.kind.fields,
            QuantityField("fare_fen", "integer", Text(zh="票价", en="Fare"), unit="fen"),
        ),
        samples=({**BusRide.example, "fare_fen": 200},),
    )


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _code_of(session, activity_id: int) -> str:
    return session.scalar(
        sa.select(MethodologyVersion.code)
        .join(Reduction, Reduction.methodology_version_id == MethodologyVersion.id)
        .join(Activity, Activity.reduction_id == Reduction.id)
        .where(Activity.id == activity_id)
    )


class BusMonthlyRide(BusRide):
    """A bus methodology that also declares a monthly cap."""

    code = "bus_monthly"
    version = "1.0.0"
    parameters = (
        *BusRide.parameters,
        Parameter(
            "monthly_cap_g", 5_000, "g CO2e", "test",
            Text(zh="每月上限。", en="Most grams a month."), kind="integer",
        ),
    )  # fmt: skip


def _install(app, session, code: str, plugin, since) -> None:
    """``plugin`` approved from ``since``, the bus closed then."""
    context = edge.of(app)
    plugins = {**context.methodologies, code: plugin}
    app.extensions["tanpuhui.context"] = dataclasses.replace(context, methodologies=plugins)
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    admin = make_user(session, Role.BUREAU_ADMIN)
    methodology.register_and_approve(
        session, {code: plugin},
        submitter=Actor(reviewer.id, reviewer.role), approver=Actor(admin.id, admin.role),
        effective_from=since, comment="test",
    )  # fmt: skip
    session.execute(
        sa.update(MethodologyVersion)
        .where(MethodologyVersion.code == "bus")
        .values(effective_until=since)
    )
    session.commit()


def _install_bus_fare_from_noon(app, session) -> None:
    """bus until 12:00 on the test day, bus_fare (needing ``fare_fen``) from then on."""
    _install(app, session, "bus_fare", BusFareRide, at(12))


def test_the_version_in_effect_at_the_activity_time_validates_and_quantifies_it(
    city, client, session
):
    _install_bus_fare_from_noon(city, session)
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "R-0001")
    body = post_batch(
        client, key,
        [ride("morning", "R-0001", at(9)),  # bus in effect: no fare needed
         ride("afternoon", "R-0001", at(13)),  # bus_fare in effect: the fare is missing
         ride("paid", "R-0001", at(14)) | {"quantities": {"distance_km": "8.2",
                                                           "duration_minutes": "25",
                                                           "fare_fen": 200}},
         ride("early-fare", "R-0001", at(10)) | {"quantities": {"distance_km": "3",
                                                                "duration_minutes": "9",
                                                                "fare_fen": 200}}],
    ).get_json()  # fmt: skip
    morning, afternoon, paid, early = body["results"]
    assert morning["status"] == "verified"
    assert _code_of(session, morning["activity_id"]) == "bus"
    assert afternoon["result"] == "rejected"
    assert afternoon["reasons"][0]["field"] == "quantities.fare_fen"
    assert paid["status"] == "verified" and _code_of(session, paid["activity_id"]) == "bus_fare"
    # bus's own schema does not know fare_fen: the version in effect refuses what it cannot read.
    assert early["result"] == "rejected" and early["reasons"][0]["field"] == "quantities.fare_fen"
    assert _count(session, Issuance) == 2


def test_held_activities_are_released_under_the_version_in_effect_at_their_time(
    city, client, session
):
    _install_bus_fare_from_noon(city, session)
    key = make_partner(city, session, ["bus_ride"])
    fare = {"distance_km": "8.2", "duration_minutes": "25", "fare_fen": 200}
    body = post_batch(
        client,
        key,
        [ride("h1", "H-0001", at(9)), ride("h2", "H-0001", at(15)) | {"quantities": fare}],
    ).get_json()
    assert [r["status"] for r in body["results"]] == ["held", "held"]
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "H-0001")
    first, second = (session.get(Activity, r["activity_id"]) for r in body["results"])
    session.refresh(first), session.refresh(second)
    assert first.status == second.status == ActivityStatus.VERIFIED
    assert _code_of(session, first.id) == "bus" and _code_of(session, second.id) == "bus_fare"


def test_a_time_no_version_covers_is_refused_per_item(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    early = ride("old", "OLD-0001", at(0) - timedelta(days=400))
    (result,) = post_batch(client, key, [early]).get_json()["results"]
    assert result["result"] == "rejected"
    assert result["reasons"][0] | {"message": None} == {
        "code": "no_methodology", "field": "occurred_at", "message": None,
    }  # fmt: skip
    assert _count(session, Activity) == 0


# --- no reduction -------------------------------------------------------------------------------

ABOVE_BASELINE = {
    "period_start": "2026-10-01", "period_end": "2026-10-31",
    "consumed_kwh": "320", "baseline_kwh": "300",
}  # fmt: skip


def test_use_above_baseline_and_a_zero_distance_trip_are_no_reduction(city, client, session):
    utility = make_partner(city, session, ["electricity_use"])
    transit = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "electricity_meter", "E-100")
    link(city, session, resident.id, "transit_card", "T-100")
    reading = {
        "external_id": "oct", "kind": "electricity_use", "identifier": "E-100",
        "occurred_at": at(1).isoformat(), "quantities": ABOVE_BASELINE,
    }  # fmt: skip
    (meter,) = post_batch(client, utility, [reading]).get_json()["results"]
    (standing,) = post_batch(client, transit, [ride("z", "T-100", at(8), km="0")]).get_json()[
        "results"
    ]
    for result in (meter, standing):
        assert result["result"] == "accepted" and result["status"] == "no_reduction"
        (reason,) = result["reasons"]
        assert reason["code"] == "no_reduction" and reason["severity"] == "info"
    assert "300" in meter["reasons"][0]["message"]  # the calculation says why
    # Recorded as decided, with no reduction, no points and no ledger transaction.
    activity = session.get(Activity, meter["activity_id"])
    assert activity.status == ActivityStatus.NO_REDUCTION and activity.decided_at is not None
    assert activity.reduction_id is None
    assert _count(session, Reduction) == _count(session, Issuance) == 0
    assert _count(session, Transaction) == 0

    # The partner reads it back from the status endpoint.
    request = json.dumps({"external_ids": ["oct"]}).encode()
    (item,) = client.post(
        STATUS_URL, data=request, headers=signed_headers(utility, request)
    ).get_json()["items"]
    assert item["status"] == "no_reduction" and item["reasons"][0]["code"] == "no_reduction"

    # The resident sees it, with its reason, in the API and on the page.
    log_in(client, resident)
    items = client.get("/api/v1/me/activities").get_json()["items"]
    assert {i["status"] for i in items} == {"no_reduction"}
    assert all(i["reasons"][0]["code"] == "no_reduction" and i["points"] is None for i in items)
    page = client.get("/activities").get_data(as_text=True)
    assert page.count('badge-no_reduction">无减排<') == 2  # the status, zh by default
    assert "没有减排，不计积分" in page  # the meter reading's calculation, as the reason


# --- caps ---------------------------------------------------------------------------------------

#: 37.2 km × 26.9 g/km is over the bus's 1,000 g per ride: each such ride earns exactly 1,000 g,
#: and four of them fill the bus's daily cap of 4,000 g. 0.04 km earns 1 g.
FULL = {"km": "37.2", "minutes": "50"}
ONE_GRAM = {"km": "0.04", "minutes": "1"}


def _rides(card: str, starts, prefix: str, size=FULL) -> list[dict[str, Any]]:
    return [ride(f"{prefix}{n}", card, when, **size) for n, when in enumerate(starts)]


def _credited(session, resident_id: int) -> list[tuple[int, int | None, str | None]]:
    return [
        tuple(row)
        for row in session.execute(
            sa.select(Reduction.reduction_g, Reduction.credited_g, Reduction.cap)
            .where(Reduction.participant_id == resident_id)
            .order_by(Reduction.occurred_at)
        )
    ]


def test_the_daily_cap_credits_exactly_up_to_it_and_records_the_rest(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "CAP-0001")
    at_cap = _rides("CAP-0001", [at(7), at(8), at(9), at(10)], "full")
    results = post_batch(client, key, at_cap).get_json()["results"]
    assert [r["status"] for r in results] == ["verified"] * 4
    assert all("reasons" not in r for r in results)  # exactly at the cap: nothing held back
    past = post_batch(client, key, _rides("CAP-0001", [at(11)], "past", ONE_GRAM)).get_json()
    (one_past,) = past["results"]
    assert one_past["status"] == "verified"
    assert one_past["reasons"][0]["code"] == "methodology_daily_cap"
    assert one_past["reasons"][0]["severity"] == "info"
    assert _credited(session, resident.id) == [(1000, 1000, None)] * 4 + [
        (1, 0, "methodology_daily")
    ]
    issued = session.scalars(sa.select(Issuance.issued_points).order_by(Issuance.reduction_id))
    assert list(issued) == [1000, 1000, 1000, 1000, 0]

    log_in(client, resident)
    latest = client.get("/api/v1/me/activities").get_json()["items"][0]
    assert (latest["reduction_g"], latest["credited_g"], latest["capped_g"], latest["cap"]) == (
        1, 0, 1, "methodology_daily",
    )  # fmt: skip
    credit = client.get("/api/v1/wallet/history").get_json()["items"][0]["credit"]
    assert (credit["credited_g"], credit["capped_g"], credit["methodology_cap"]) == (
        0, 1, "methodology_daily",
    )  # fmt: skip
    page = client.get("/activities").get_data(as_text=True)
    assert "1 克未计入：此类行为每天最多计入 4,000 克。" in page
    wallet = client.get("/wallet").get_data(as_text=True)
    assert "1 克中有 1 克未计入：此类行为已达每日上限。" in wallet


def test_the_cap_counts_by_the_city_day_so_a_ride_after_midnight_has_room(city, client, session):
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "CAP-0002")
    evening = _rides(
        "CAP-0002", [at(-8), at(-7), at(-6), at(-5)], "e"
    )  # 16:00-20:00 the day before
    late = [ride("late", "CAP-0002", at(0, -2), km="1", minutes="1")]  # 23:58, still the day before
    after = [ride("after", "CAP-0002", at(0), km="1", minutes="1")]  # 00:00 city time, a new day
    post_batch(client, key, evening + late + after)
    assert [row[1:] for row in _credited(session, resident.id)] == [(1000, None)] * 4 + [
        (0, "methodology_daily"),
        (27, None),
    ]


def test_the_wallet_caps_of_the_ledger_policy_apply_alongside(city, client, session):
    configure(city, POINTS_DAILY_CAP=3_500)
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "CAP-0003")
    starts = [at(7), at(8), at(9), at(10)]
    post_batch(
        client, key, _rides("CAP-0003", starts, "w") + _rides("CAP-0003", [at(11)], "x", ONE_GRAM)
    )
    rows = session.execute(
        sa.select(Issuance.issued_points, Issuance.capped_points, Issuance.cap).order_by(
            Issuance.reduction_id
        )
    )
    assert [(issued, capped, cap and cap.value) for issued, capped, cap in rows] == [
        (1000, 0, None), (1000, 0, None), (1000, 0, None), (500, 500, "daily"), (0, 0, None),
    ]  # fmt: skip
    assert [row[1:] for row in _credited(session, resident.id)][-1] == (0, "methodology_daily")


def test_a_reviewer_approval_is_capped_by_what_was_credited_meanwhile(city, client, session):
    configure(city, MAX_TRIPS_PER_DAY=4)
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "CAP-0004")
    starts = [at(6), at(7), at(8), at(9), at(10)]
    results = post_batch(client, key, _rides("CAP-0004", starts, "r")).get_json()["results"]
    assert [r["status"] for r in results][-1] == "flagged"  # the fifth trip of the day
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    log_in(client, reviewer)
    token = csrf_token_from(client, "/bureau/review")
    response = client.post(
        "/api/v1/bureau/review/decisions",
        json={"activity_ids": [results[-1]["activity_id"]], "decision": "approve", "note": "ok"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_json()
    assert _credited(session, resident.id)[-1] == (1000, 0, "methodology_daily")


def test_a_declared_monthly_cap_counts_by_the_city_month(city, client, session):
    _install(city, session, "bus_monthly", BusMonthlyRide, datetime(2026, 10, 1, tzinfo=CITY))
    key = make_partner(city, session, ["bus_ride"])
    resident = make_user(session)
    link(city, session, resident.id, "transit_card", "MON-0001")
    october = _rides("MON-0001", [datetime(2026, 10, d, 9, tzinfo=CITY) for d in (5, 6, 7)], "o")
    month_end = [ride("o-end", "MON-0001", datetime(2026, 10, 31, 23, 58, tzinfo=CITY), km="1",
                      minutes="1")]  # fmt: skip
    november = _rides(
        "MON-0001", [datetime(2026, 11, d, 9, tzinfo=CITY) for d in (1, 2, 3, 4, 5)], "n"
    )
    one_past = [ride("n-past", "MON-0001", datetime(2026, 11, 6, 9, tzinfo=CITY), **ONE_GRAM)]
    post_batch(client, key, october + month_end + november + one_past)
    assert [row[1:] for row in _credited(session, resident.id)] == [
        (1000, None), (1000, None), (1000, None), (27, None),  # October: 3,027 g, under 5,000
        *[(1000, None)] * 5,  # November 1-5: exactly at the monthly cap
        (0, "methodology_monthly"),  # one gram past it
    ]  # fmt: skip
