"""Trips: when one ended, and when two reports from different sources are the same real trip.

Two reports of one kind for one participant from different sources (two operators, or an operator
and the resident) are the same trip when

- their intervals overlap, or their starts are within ``start_tolerance`` of each other, and
- their distances agree within ``distance_tolerance``: the larger of ``distance_share`` of the
  longer distance and ``distance_floor_km`` (for two rides given by stations: the same pair of
  stations in either direction; when one has no distance to compare, the times alone decide).

Which kinds are trips, and which of their fields give the duration, the distance and the route
(stations), is the methodology's declaration (``methodologies.kinds.Trip``).

The defaults (5 minutes; 20 % or 0.5 km) and where they come from are in the README
(``SAME_TRIP_*`` settings). A ride reported without a duration lasts as long as its distance takes
at the kind's highest plausible speed (the methodology's ``max_speed_kmh``): the shortest ride it
can have been, so it overlaps no more than it must; a minute when neither is known.

What a rule needs of the history is a participant's trips near the batch's times, read by the
index on (participant, occurred_at): :data:`LONGEST_TRIP` bounds how far back a trip that could
still overlap may have started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from app.methodology.apply import PreparedVersion
from methodologies.kinds import Trip as Declared

#: A trip reported without a duration and without a distance to derive one from.
NO_DURATION = timedelta(minutes=1)
#: No trip lasts longer (transit and cycling schemas bound a duration to a day; a trip of more
#: than this is clipped to it for the overlap rules, so history is read this far back at most).
LONGEST_TRIP = timedelta(hours=6)


def declared(prepared: PreparedVersion | None) -> Declared | None:
    """The trip declaration of the version's kind (start, end, distance), or None: not a trip."""
    return prepared.plugin.kind.trip if prepared is not None else None


def plausible_speed_kmh(prepared: PreparedVersion | None) -> Decimal | None:
    """The kind's highest plausible average speed, as its methodology version declares it."""
    if prepared is None:
        return None
    speed = prepared.params.values.get("max_speed_kmh")
    return speed if isinstance(speed, Decimal) and speed > 0 else None


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far two reports of one trip may differ (see the module's description)."""

    start: timedelta = timedelta(minutes=5)
    distance_share: Decimal = Decimal("0.2")
    distance_floor_km: Decimal = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class Trip:
    """A trip as the rules compare it."""

    participant_id: int
    kind: str
    source: str  # "partner:<id>" or "self_report": the same source never matches itself
    start: datetime
    end: datetime
    distance_km: Decimal | None
    stations: frozenset[str] | None


def source_of(partner_id: int | None) -> str:
    return f"partner:{partner_id}" if partner_id is not None else "self_report"


def distance_of(quantities: Mapping[str, Any], trip: Declared | None) -> Decimal | None:
    if trip is None:
        return None
    value = quantities.get(trip.distance_field)
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def stations_of(quantities: Mapping[str, Any], trip: Declared | None) -> frozenset[str] | None:
    """The trip's route (its declared route fields, stations say), when every one is given."""
    if trip is None or not trip.route_fields:
        return None
    route = [quantities.get(name) for name in trip.route_fields]
    if all(isinstance(value, str) for value in route):
        return frozenset(route)  # type: ignore[arg-type]
    return None


def trip_end(
    occurred_at: datetime,
    quantities: Mapping[str, Any],
    speed_kmh: Decimal | None,
    trip: Declared,
) -> datetime:
    """When a trip ended: its reported duration, else its distance at ``speed_kmh``, else a
    minute; never later than :data:`LONGEST_TRIP` after it started."""
    minutes = quantities.get(trip.duration_field)
    if minutes:
        duration = timedelta(minutes=float(minutes))
    else:
        km = distance_of(quantities, trip)
        if km and speed_kmh:
            duration = max(NO_DURATION, timedelta(hours=float(km / speed_kmh)))
        else:
            duration = NO_DURATION
    return occurred_at + min(duration, LONGEST_TRIP)


def overlaps(a: Trip, b: Trip) -> bool:
    return a.start < b.end and b.start < a.end


def distances_agree(a: Trip, b: Trip, tolerance: Tolerance) -> bool:
    if a.stations is not None and b.stations is not None:
        return a.stations == b.stations
    if a.distance_km is None or b.distance_km is None:
        return True  # nothing to compare (a ride given by stations only): the times decide
    longer = max(a.distance_km, b.distance_km)
    allowed = max(longer * tolerance.distance_share, tolerance.distance_floor_km)
    return abs(a.distance_km - b.distance_km) <= allowed


def same_trip(a: Trip, b: Trip, tolerance: Tolerance) -> bool:
    """Whether two reports from different sources are one real trip."""
    if a.participant_id != b.participant_id or a.kind != b.kind or a.source == b.source:
        return False
    close = overlaps(a, b) or abs(a.start - b.start) <= tolerance.start
    return close and distances_agree(a, b, tolerance)
