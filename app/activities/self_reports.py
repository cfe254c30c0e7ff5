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
from app.activities.models import Activity, ActivitySource, ActivityStatus
from app.errors import Checks, DomainError
from app.methodology import outcome
from app.methodology.apply import InvalidQuantities, VersionResolver
from methodologies.base import Methodology
from methodologies.kinds import ActivityKind


def quantities_from(kind: ActivityKind | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields residents fill in for ``kind`` (as its methodology declares them) out of flat
    text fields (a form), for its methodology to load.

    Blank fields are left out, so the methodology names what is missing.
    """
    if kind is None or kind.self_report is None:
        return {}
    quantities: dict[str, Any] = {}
    for name in kind.self_report.fields:
        declared = kind.get_field(name)
        raw = values.get(name)
        raw = (raw if isinstance(raw, str) else "").strip()
        if raw and declared is not None:
            quantities[name] = declared.from_text(raw)
    return quantities


def check(
    session: Session,
    *,
    kind: str | None,
    occurred_at: datetime | None,
    quantities: Mapping[str, Any],
    evidence: bytes | None,
    evidence_max_bytes: int,
    settings: pipeline.Settings,
) -> tuple[type[Methodology], Mapping[str, Any]]:
    """The report's methodology and loaded quantities; refuses everything wrong with it at once
    (each beside its field), so a resident corrects the form in one go. ``occurred_at`` is None
    when the form could not read it: the rest is still checked."""
    plugin = {cls.activity_kind: cls for cls in settings.plugins.values()}.get(kind or "")
    if plugin is not None and plugin.kind.self_report is None:
        plugin = None  # a kind only partners report
    checks = Checks()
    with checks.check():
        if plugin is None:
            raise DomainError("unknown_kind", _l("Choose what you did."), field="kind")
    with checks.check():
        if evidence:
            evidence_files.check(evidence, max_bytes=evidence_max_bytes)
        elif plugin is not None and plugin.kind.self_report.evidence == "required":
            raise DomainError(
                "evidence_required", _l("Add a receipt or screenshot."), field="evidence"
            )
    if occurred_at is not None and (occurred_at.utcoffset() is None or occurred_at > settings.now):
        checks.found.append(
            DomainError("in_future", _l("This time is in the future."), field="occurred_at")
        )
        occurred_at = None  # no trip is judged against a time that cannot be
    loaded: Mapping[str, Any] | None = None
    if plugin is not None:
        with checks.check():
            try:
                loaded = plugin.load_quantities(quantities)
            except ma.ValidationError as error:
                messages = error.messages
                raise InvalidQuantities(
                    messages if isinstance(messages, Mapping) else {"_": messages}, under=None
                ) from error
    if plugin is not None and loaded is not None and occurred_at is not None:
        with checks.check():
            _refuse_impossible_trip(session, plugin, occurred_at, loaded, settings)
    checks.refuse()
    assert plugin is not None and loaded is not None
    return plugin, loaded


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
    plugin, loaded = check(
        session, kind=kind, occurred_at=occurred_at, quantities=quantities, evidence=evidence,
        evidence_max_bytes=evidence_max_bytes, settings=settings,
    )  # fmt: skip
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


def _refuse_impossible_trip(
    session: Session,
    plugin: type[Methodology],
    occurred_at: datetime,
    loaded: Mapping[str, Any],
    settings: pipeline.Settings,
) -> None:
    """A trip its methodology finds implausible (too fast, too long, no time) is refused as typed,
    in the methodology's words beside the distance, rather than queued for a reviewer: the
    resident can correct a typing slip at once."""
    trip = plugin.kind.trip
    resolver = VersionResolver(session, settings.plugins)
    prepared = pipeline.resolve(resolver, plugin.activity_kind, occurred_at) if trip else None
    if trip is None or prepared is None:
        return
    verdict = outcome.measure(prepared, loaded, occurred_at, self_reported=True, typed=True)
    if verdict.findings:
        messages = [reasons.message(reasons.from_finding(f)) for f in verdict.findings]
        raise InvalidQuantities({trip.distance_field: messages}, under=None)
