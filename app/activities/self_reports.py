"""Self-reports: a resident reports what no partner did; a reviewer decides.

They go through the same pipeline with ``self_reported`` set, so the methodology's self-report
weight applies (operator data counts about twice a self-declared action) and the anti-fraud rules
see them; they always wait for a reviewer, unless a rule rejects them outright.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.activities import evidence as evidence_files
from app.activities import pipeline, reasons
from app.activities.kinds import SELF_REPORT_KINDS
from app.activities.models import Activity, ActivitySource, ActivityStatus
from app.errors import DomainError
from app.methodology.apply import InvalidQuantities

#: The quantities each self-reportable kind asks for (names as the methodology's input schema).
SELF_REPORT_FIELDS = {
    "recycling_weigh_in": ("material", "kg"),
    "bus_ride": ("distance_km", "duration_minutes"),
    "metro_ride": ("distance_km", "duration_minutes"),
    "bike_trip": ("mode", "distance_km", "duration_minutes"),
    "walk": ("steps",),
}


def quantities_from(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The kind's quantities out of flat text fields (a form), for its methodology to load.

    Blank fields are left out, so the methodology names what is missing.
    """
    quantities: dict[str, Any] = {}
    for name in SELF_REPORT_FIELDS.get(kind, ()):
        raw = (values.get(name) or "").strip()
        if raw:
            quantities[name] = int(raw) if name == "steps" and raw.isdigit() else raw
    return quantities


def report(
    session: Session,
    participant_id: int,
    *,
    kind: str,
    occurred_at: datetime,
    quantities: Mapping[str, Any],
    evidence: bytes | None,
    evidence_dir: str,
    evidence_max_bytes: int,
    settings: pipeline.Settings,
) -> Activity:
    """Record a self-reported activity and put it in the review queue (or reject it, with why)."""
    plugins = {cls.activity_kind: cls for cls in settings.plugins.values()}
    plugin = plugins.get(kind)
    if kind not in SELF_REPORT_KINDS or plugin is None:
        raise DomainError("unknown_kind", _l("Choose what you did."), field="kind")
    if occurred_at.utcoffset() is None or occurred_at > settings.now:
        raise DomainError("in_future", _l("This time is in the future."), field="occurred_at")
    try:
        loaded = plugin.load_quantities(quantities)
    except ma.ValidationError as error:
        messages = error.messages if isinstance(error.messages, Mapping) else {"_": error.messages}
        raise InvalidQuantities(messages, under=None) from error
    stored_evidence = None
    if evidence:
        stored_evidence = evidence_files.store(
            session, participant_id, evidence, directory=evidence_dir, max_bytes=evidence_max_bytes
        )
    candidate = pipeline.Candidate(
        kind=kind,
        occurred_at=occurred_at,
        quantities=loaded,
        participant_id=participant_id,
        self_reported=True,
        dumped=plugin.dump_quantities(loaded),
    )
    pipeline.decide(session, [candidate], settings)
    if (
        candidate.status == ActivityStatus.FLAGGED
        and stored_evidence is not None
        and evidence_files.used_before(session, stored_evidence)
    ):
        candidate.reasons.append(reasons.platform("evidence_reused", reasons.FLAG))
    pipeline.write_reductions(session, [candidate], settings.now)
    assert candidate.status is not None
    activity = Activity(
        source=ActivitySource.SELF_REPORT,
        kind=kind,
        participant_id=participant_id,
        occurred_at=occurred_at,
        ends_at=candidate.ends_at,
        quantities=candidate.dumped,
        status=candidate.status,
        reasons=candidate.reasons,
        evidence_id=stored_evidence.id if stored_evidence else None,
        reduction_id=candidate.reduction_id,
        decided_at=settings.now if candidate.status == ActivityStatus.REJECTED else None,
    )
    session.add(activity)
    session.flush()
    return activity
