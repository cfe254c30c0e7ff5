"""Which identifier names the participant of each activity kind, and which kinds are trips."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l

from app.activities.models import IdentifierKind

#: The identifier a partner sends with each activity kind.
IDENTIFIER_FOR_KIND: dict[str, IdentifierKind] = {
    "bus_ride": IdentifierKind.TRANSIT_CARD,
    "metro_ride": IdentifierKind.TRANSIT_CARD,
    "bike_trip": IdentifierKind.BIKE_ACCOUNT,
    "electricity_use": IdentifierKind.ELECTRICITY_METER,
    "gas_use": IdentifierKind.GAS_METER,
    "recycling_weigh_in": IdentifierKind.RECYCLING_CARD,
    "walk": IdentifierKind.STEP_ACCOUNT,
}

#: Kinds where one person makes one at a time: overlapping ones cannot all be real.
TRIP_KINDS = frozenset({"bus_ride", "metro_ride", "bike_trip"})

#: Kinds a resident may report themselves (operators may miss a ride or a drop-off).
SELF_REPORT_KINDS = ("recycling_weigh_in", "bus_ride", "metro_ride", "bike_trip", "walk")

KIND_NAMES = {
    "bus_ride": _l("Bus ride"),
    "metro_ride": _l("Metro ride"),
    "bike_trip": _l("Bike trip"),
    "electricity_use": _l("Electricity saving"),
    "gas_use": _l("Gas saving"),
    "recycling_weigh_in": _l("Recycling"),
    "walk": _l("Walking"),
}

IDENTIFIER_NAMES = {
    IdentifierKind.TRANSIT_CARD: _l("Transit card"),
    IdentifierKind.BIKE_ACCOUNT: _l("Bike-share account"),
    IdentifierKind.ELECTRICITY_METER: _l("Electricity meter"),
    IdentifierKind.GAS_METER: _l("Gas meter"),
    IdentifierKind.RECYCLING_CARD: _l("Recycling-station card"),
    IdentifierKind.STEP_ACCOUNT: _l("Step-counter account"),
}


def partner_kinds(enabled_kinds: Iterable[str]) -> list[str]:
    """Kinds a partner may be allowed: enabled by a methodology and named by an identifier."""
    return sorted(kind for kind in enabled_kinds if kind in IDENTIFIER_FOR_KIND)


def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, kind))


STATUS_NAMES = {
    "held": _l("Waiting for a link"),
    "verified": _l("Credited"),
    "flagged": _l("Under review"),
    "rejected": _l("Not credited"),
    "no_reduction": _l("No reduction"),
    "expired": _l("Expired"),
}
