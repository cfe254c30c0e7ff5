"""A hand-built month of bus rides whose preview is known, for the impact-preview tests.

The bus methodology in effect has its defaults (26.9 g/km, 60 km longest ride, 60 km/h, 1,000 g
per ride, 4,000 g a day, self-reports at half weight). The draft doubles the factor, allows rides
of 80 km, and caps at 1,500 g a ride and 3,000 g a day. Every figure below is worked by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.activities.models import Activity, ActivitySource, ActivityStatus, DataPartner
from app.methodology import services
from app.methodology.models import MethodologyVersion
from tests.factories import make_user
from tests.methodology.support import Bureau, actor

#: When the preview is asked for; its window is the 30 days before.
NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
#: A day inside the window, midnight in Beijing.
DAY = datetime(2026, 6, 10, tzinfo=UTC) - timedelta(hours=8)

DRAFT_CHANGES = {
    "baseline_g_per_pkm": "53.8",
    "longest_ride_km": "80",
    "activity_cap_g": 1500,
    "daily_cap_g": 3000,
}
DRAFT_NOTES = {name: "preview test" for name in DRAFT_CHANGES}

#: What the version in effect makes of the month (a1 … a6; a7-a9 are not replayed).
CURRENT = {
    "credited": 4,  # a1, a2, a3, a6
    "flagged": 1,  # a4: 20 km in 10 minutes
    "rejected": 1,  # a5: 70 km is longer than the longest route
    "capped": 1,  # a3: 1,076 g capped at 1,000
    "grams": 269 + 807 + 1000 + 269,
}
#: What the draft makes of it.
DRAFT = {
    "credited": 5,  # a1, a2, a3, a5, a6
    "flagged": 1,  # a4
    "rejected": 0,
    "capped": 3,  # a2 (1,614 → 1,500), a3 (daily: 3,000 − 538 − 1,500 = 962), a5 (3,766 → 1,500)
    "grams": 538 + 1500 + 962 + 1500 + 538,
}
#: Largest differences first (ties: the older activity first): (activity, current g, draft g).
DIFFERENCES = [("a5", 0, 1500), ("a2", 807, 1500), ("a1", 269, 538), ("a6", 269, 538),
               ("a3", 1000, 962)]  # fmt: skip


def at(hour: int, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hour)


def _reason(code: str, severity: str, *, platform: bool = False) -> dict[str, Any]:
    if platform:
        return {"code": code, "severity": severity, "args": {}}
    return {"code": code, "severity": severity, "zh": code, "en": code}


def build_month(app: Any, session: Session) -> dict[str, Any]:
    """The bureau, bus approved with its defaults, a draft with the changes, and the activities.

    Returns the bureau, the draft and the activities' ids by name.
    """
    bureau = Bureau(app, session)
    bureau.approved("bus", effective_from=datetime(2026, 1, 1, tzinfo=UTC))
    draft = bureau.draft("bus")
    parameters = dict(draft.parameters) | DRAFT_CHANGES
    services.edit_draft(
        session, actor(bureau.reviewer), bureau.plugins, draft.id,
        parameters=parameters, notes=DRAFT_NOTES,
    )  # fmt: skip
    partner = DataPartner(name="Yinchuan Bus", allowed_kinds=["bus_ride"])
    session.add(partner)
    session.flush()
    alice, bob = make_user(session), make_user(session)
    made: dict[str, Activity] = {}

    def ride(name: str, who: Any, when: datetime, km: str, minutes: str, **fields: Any) -> None:
        status = fields.pop("status", ActivityStatus.VERIFIED)
        self_reported = fields.pop("self_reported", False)
        made[name] = Activity(
            source=ActivitySource.SELF_REPORT if self_reported else ActivitySource.PARTNER,
            partner_id=None if self_reported else partner.id,
            external_id=None if self_reported else name,
            kind=fields.pop("kind", "bus_ride"),
            participant_id=who.id,
            occurred_at=when,
            quantities={"distance_km": km, "duration_minutes": minutes},
            status=status,
            reasons=fields.pop("reasons", []),
        )

    ride("a1", alice, at(8), "10", "30")
    ride("a2", alice, at(10), "30", "40")
    ride("a3", alice, at(12), "40", "60")
    ride("a4", alice, at(14), "20", "10", status=ActivityStatus.FLAGGED,
         reasons=[_reason("too_fast", "flag")])  # fmt: skip
    ride("a5", bob, at(9, day=1), "70", "90", status=ActivityStatus.REJECTED,
         reasons=[_reason("longer_than_longest_route", "reject")])  # fmt: skip
    ride("a6", bob, at(18, day=1), "20", "50", self_reported=True, status=ActivityStatus.FLAGGED,
         reasons=[_reason("self_reported", "flag", platform=True)])  # fmt: skip
    # Not replayed: a platform rule rejected it, it is too old, or it is another kind.
    ride("a7", alice, at(8, day=1), "10", "30", status=ActivityStatus.REJECTED,
         reasons=[_reason("duplicate_trip", "reject", platform=True)])  # fmt: skip
    ride("a8", alice, NOW - timedelta(days=31), "10", "30")
    ride("a9", alice, at(16), "10", "30", kind="metro_ride")
    for name in sorted(made):  # ids in name order: the ties above are ordered by id
        session.add(made[name])
        session.flush()
    session.commit()
    return {"bureau": bureau, "draft": draft, "ids": {n: a.id for n, a in made.items()}}


def draft_of(session: Session, version_id: int) -> MethodologyVersion:
    version = session.get(MethodologyVersion, version_id)
    assert version is not None
    return version
