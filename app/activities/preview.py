"""An impact preview computed: recent activities replayed through a draft and the version in effect.

The ``methodology-previews`` job calls :func:`step` repeatedly; each call works one chunk of
activities and commits the preview's progress (``processed`` of ``total``), the last one its
result. Activities are read with Core in keyset chunks, ordered by participant and time, and only
the plugin's pure functions are called (``build_activity``, ``check``, ``quantify``): nothing but
the preview row is written. Points follow the ledger policy's own rule (``points_for``).

What a replay counts, per side: *credited* (no finding holds it back; its grams after the caps),
*flagged* (a finding asks for a review, so no grams yet), *rejected* (a finding refuses it, its
quantities fail the input schema, or there is nothing to measure) and *capped* (credited, but cut
by the per-activity or the daily cap). The platform's own rules (duplicates, overlapping trips,
trips per day, reviews of self-reports) are the same under both versions and are not replayed;
activities they rejected are skipped.
"""

from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from app import adapters
from app.activities.models import Activity, ActivitySource, ActivityStatus
from app.activities.reasons import REJECT
from app.errors import DomainError
from app.ledger.policy import LedgerPolicy
from app.methodology.apply import PreparedVersion
from app.methodology.models import MethodologyPreview, MethodologyVersion, PreviewStatus
from app.methodology.outcome import CapRoom, GramCaps, cap, caps_of, measure
from app.methodology.previews import TOP_DIFFERENCES
from app.methodology.queries import Plugins, plugin_for, version_in_effect
from app.methodology.rules import load_parameters
from methodologies.base import Methodology

log = logging.getLogger(__name__)

#: Activities replayed per committed chunk (one progress update each).
CHUNK = 10_000

activities = Activity.__table__
previews = MethodologyPreview.__table__

CREDITED, FLAGGED, REJECTED, NO_REDUCTION = "credited", "flagged", "rejected", "no_reduction"
#: Distinct reports whose loaded quantities a replay keeps (then it starts afresh).
_MAX_LOADED = 100_000
_UNSEEN = object()


@dataclass(slots=True)
class Side:
    """One version replayed: its computation and what it made of the activities so far.

    Activities come ordered by participant and time, so the caps' room is one participant's.
    """

    label: str
    prepared: PreparedVersion
    caps: GramCaps
    credited: int = 0
    flagged: int = 0
    rejected: int = 0
    no_reduction: int = 0
    capped: int = 0
    grams: int = 0
    points: int = 0
    participant: int | None = None  # whose credits ``room`` counts
    room: CapRoom | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "version_id": self.prepared.id,
            "credited": self.credited,
            "flagged": self.flagged,
            "rejected": self.rejected,
            "no_reduction": self.no_reduction,
            "capped": self.capped,
            "grams": self.grams,
            "points": self.points,
        }


@dataclass(slots=True)
class Replay:
    """A preview being computed; carried from one chunk (``step``) to the next in memory."""

    preview_id: int
    draft: Side
    current: Side | None
    current_error: dict[str, Any] | None
    window: tuple[datetime, datetime]
    kind: str
    zone: ZoneInfo
    policy: LedgerPolicy
    total: int
    processed: int = 0
    skipped: int = 0
    after: tuple[int, datetime, int] | None = None
    largest: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    #: Quantities loaded by the plugin, by their stored JSON text (reports repeat a lot).
    loaded: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)

    def result(self) -> dict[str, Any]:
        ranked = sorted(self.largest, key=lambda entry: (-entry[0], -entry[1]))
        return {
            "kind": self.kind,
            "window_from": self.window[0].isoformat(),
            "window_until": self.window[1].isoformat(),
            "replayed": self.processed - self.skipped,
            "skipped": self.skipped,
            "draft": self.draft.summary(),
            "current": self.current.summary() if self.current else None,
            "current_error": self.current_error,
            "differences": [entry for _, _, entry in ranked],
        }


# --- the job's step -------------------------------------------------------------------------------


def step(
    session: Session,
    replay: Replay | None,
    *,
    plugins: Plugins,
    policy: LedgerPolicy,
    now: datetime,
    chunk: int = CHUNK,
) -> tuple[Replay | None, dict[str, int], bool]:
    """Work one chunk: of ``replay``, or else of the oldest queued preview (which it starts).

    Returns the replay to continue with (None when it finished), counts for the job's run, and
    whether another call may find work. Runs alone (the job's lease), so a preview found
    'running' when none is carried was left by a process that died: it starts again.
    """
    counts = {"previews": 0, "activities": 0}
    if replay is None:
        _restart_orphans(session)
        replay = _start_next(session, plugins, policy, now)
        if replay is None:
            return None, counts, False
        if isinstance(replay, int):  # it failed at once (plugin gone, parameters invalid)
            counts["previews"] = 1
            return None, counts, True
    try:
        done = _replay_chunk(session, replay, chunk)
    except Exception:  # a plugin that breaks its contract must not wedge the queue
        log.exception("preview %s failed", replay.preview_id)
        _finish(session, replay.preview_id, now, error={"code": "preview_failed"})
        counts["previews"] = 1
        return None, counts, True
    counts["activities"] = done
    finished = replay.processed >= replay.total or done < chunk
    if finished:
        _finish(session, replay.preview_id, now, result=replay.result())
        counts["previews"] = 1
        return None, counts, True
    still_running = session.execute(
        sa.update(previews)
        .where(previews.c.id == replay.preview_id, previews.c.status == PreviewStatus.RUNNING)
        .values(processed=replay.processed, heartbeat_at=now)
    ).rowcount
    if not still_running:  # superseded meanwhile: stop here
        return None, counts, True
    return replay, counts, True


def has_work(session: Session) -> bool:
    """Whether a preview waits (the scheduler's cheap poll before it starts the job)."""
    return (
        session.scalar(
            sa.select(previews.c.id)
            .where(previews.c.status.in_((PreviewStatus.QUEUED, PreviewStatus.RUNNING)))
            .limit(1)
        )
        is not None
    )


def _restart_orphans(session: Session) -> None:
    session.execute(
        sa.update(previews)
        .where(previews.c.status == PreviewStatus.RUNNING)
        .values(status=PreviewStatus.QUEUED, processed=0, started_at=None, heartbeat_at=None)
    )


def _start_next(
    session: Session, plugins: Plugins, policy: LedgerPolicy, now: datetime
) -> Replay | int | None:
    preview = session.scalars(
        sa.select(MethodologyPreview)
        .where(MethodologyPreview.status == PreviewStatus.QUEUED)
        .order_by(MethodologyPreview.id)
        .limit(1)
    ).first()
    if preview is None:
        return None
    version = session.get(MethodologyVersion, preview.version_id)
    assert version is not None
    try:
        draft = _side(plugins, version, preview.parameters)
    except DomainError as error:
        _finish(session, preview.id, now, error=_error(error, version.label))
        return preview.id
    current, current_error = None, None
    in_effect = version_in_effect(session, version.code, preview.window_until)
    if in_effect is not None:
        try:
            current = _side(plugins, in_effect, in_effect.parameters)
        except DomainError as error:
            current_error = _error(error, in_effect.label)
    window = (preview.window_from, preview.window_until)
    total = session.scalar(
        sa.select(sa.func.count())
        .select_from(activities)
        .where(*_filters(version.activity_kind, window))
    )
    preview.status = PreviewStatus.RUNNING
    preview.started_at = preview.heartbeat_at = now
    preview.processed, preview.total = 0, total or 0
    session.flush()
    return Replay(
        preview_id=preview.id,
        draft=draft,
        current=current,
        current_error=current_error,
        window=window,
        kind=version.activity_kind,
        zone=policy.zone,
        policy=policy,
        total=total or 0,
    )


def _side(plugins: Plugins, version: MethodologyVersion, parameters: Mapping[str, Any]) -> Side:
    plugin = plugin_for(plugins, version)
    params = load_parameters(plugin, parameters)
    prepared = PreparedVersion(
        id=version.id,
        code=version.code,
        version=version.version,
        activity_kind=version.activity_kind,
        plugin=plugin,
        params=params,
        parameters=MappingProxyType(dict(parameters)),
        daily_cap_g=plugin.daily_cap_g(params),
    )
    return Side(version.label, prepared, caps_of(prepared))


def _error(error: DomainError, label: str) -> dict[str, Any]:
    code = error.reason
    if code == "invalid_parameters":
        return {"code": code, "label": label, "errors": error.errors()}
    return {"code": code, "label": label}


def _finish(
    session: Session,
    preview_id: int,
    now: datetime,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": PreviewStatus.FAILED if error else PreviewStatus.SUCCEEDED,
        "finished_at": now,
        "heartbeat_at": now,
        "error": error if error is not None else sa.null(),
    }
    if result is not None:
        processed = result["replayed"] + result["skipped"]
        values.update(result=result, processed=processed, total=processed)
    session.execute(
        sa.update(previews)
        .where(
            previews.c.id == preview_id,
            previews.c.status.in_((PreviewStatus.QUEUED, PreviewStatus.RUNNING)),
        )
        .values(**values)
    )


# --- the replay -----------------------------------------------------------------------------------


def _filters(kind: str, window: tuple[datetime, datetime]) -> list[Any]:
    return [
        activities.c.kind == kind,
        activities.c.occurred_at >= window[0],
        activities.c.occurred_at < window[1],
        activities.c.status.in_(
            (
                ActivityStatus.VERIFIED,
                ActivityStatus.FLAGGED,
                ActivityStatus.REJECTED,
                ActivityStatus.NO_REDUCTION,
            )
        ),
    ]


def _rows(session: Session, replay: Replay, chunk: int) -> Iterator[Any]:
    times = adapters.of(session).aware_timestamps
    stmt = (
        sa.select(
            activities.c.id,
            activities.c.participant_id,
            times(activities.c.occurred_at),
            # As text: equal reports load once (see ``Replay.loaded``), and JSON is parsed only
            # for the reports not seen before.
            sa.cast(activities.c.quantities, sa.Text),
            sa.type_coerce(activities.c.source, sa.String),
            # Only a rejection's reasons are read (was it a platform rule?).
            sa.case(
                (
                    activities.c.status == ActivityStatus.REJECTED,
                    sa.cast(activities.c.reasons, sa.Text),
                ),
                else_=sa.null(),
            ),
        )
        .where(*_filters(replay.kind, replay.window))
        .order_by(activities.c.participant_id, activities.c.occurred_at, activities.c.id)
        .limit(chunk)
    )
    if replay.after is not None:
        key = (activities.c.participant_id, activities.c.occurred_at, activities.c.id)
        stmt = stmt.where(
            sa.tuple_(*key)
            > sa.tuple_(
                *(
                    sa.literal(value, column.type)
                    for value, column in zip(replay.after, key, strict=True)
                )
            )
        )
    yield from session.connection().execute(stmt.execution_options(yield_per=min(chunk, 5000)))


def _replay_chunk(session: Session, replay: Replay, chunk: int) -> int:
    draft, current = replay.draft, replay.current
    plugin, zone = draft.prepared.plugin, replay.zone
    self_report = ActivitySource.SELF_REPORT.value
    points_for = replay.policy.points_for
    largest, top = replay.largest, TOP_DIFFERENCES
    done = 0
    row = None
    loaded = replay.loaded
    for row in _rows(session, replay, chunk):
        done += 1
        activity_id, participant, occurred_at, raw, source, reasons = row
        if reasons is not None and _platform_rejected(json.loads(reasons)):
            replay.skipped += 1
            continue
        quantities = loaded.get(raw, _UNSEEN)
        if quantities is _UNSEEN:
            quantities = _load(plugin, raw)
            if len(loaded) >= _MAX_LOADED:
                loaded.clear()
            loaded[raw] = quantities
        activity = (participant, occurred_at, quantities, source == self_report)
        new = _apply(draft, activity, zone, points_for)
        old = _apply(current, activity, zone, points_for) if current is not None else None
        if old is None or old != new:
            difference = new[1] - (old[1] if old else 0)
            key = (abs(difference), -activity_id)
            entry_needed = len(largest) < top or key > largest[0][:2]
            if entry_needed:
                entry = {
                    "activity_id": activity_id,
                    "occurred_at": occurred_at.isoformat(),
                    "self_reported": source == self_report,
                    "current": {"outcome": old[0], "grams": old[1]} if old else None,
                    "draft": {"outcome": new[0], "grams": new[1]},
                    "difference_g": difference,
                }
                item = (key[0], key[1], entry)
                if len(largest) < top:
                    heapq.heappush(largest, item)
                else:
                    heapq.heapreplace(largest, item)
    replay.processed += done
    if row is not None:
        replay.after = (row[1], row[2], row[0])
    return done


def _load(plugin: type[Methodology], raw: str) -> Mapping[str, Any] | None:
    """A report's quantities as the plugin's input schema loads them (as ``build_activity``
    does); None if the schema refuses them."""
    try:
        return MappingProxyType(plugin.load_quantities(json.loads(raw)))
    except (ValidationError, ValueError, TypeError):
        return None


def _platform_rejected(reasons: list[dict[str, Any]] | None) -> bool:
    """Rejected by a platform rule (a duplicate, an overlap, a reviewer), not a methodology."""
    return any(
        reason.get("severity") == REJECT and "args" in reason and reason["code"] != "no_methodology"
        for reason in reasons or ()
    )


def _apply(
    side: Side, activity: tuple[int, datetime, Any, bool], zone: ZoneInfo, points_for: Any
) -> tuple[str, int]:
    """One side's outcome and credited grams for one activity, by the pipeline's own rule
    (:func:`~app.methodology.outcome.measure`, then the caps); adds it to the side's counts.

    ``activity`` is (participant, occurred_at, quantities loaded by the plugin or None when its
    schema refused them, self-reported).
    """
    participant, occurred_at, quantities, self_reported = activity
    if quantities is None:
        side.rejected += 1
        return REJECTED, 0
    measured = measure(
        side.prepared, quantities, occurred_at, self_reported=self_reported, typed=True
    )
    if side.participant != participant or side.room is None:
        side.participant, side.room = participant, CapRoom(zone)
    result = cap(measured, side.room, participant, side.prepared.code, side.caps, occurred_at)
    if result.status == CREDITED:
        grams = result.credited_g
        side.credited += 1
        side.grams += grams
        side.points += points_for(grams)
        if result.capped_g or (result.quantification and result.quantification.capped):
            side.capped += 1
        return CREDITED, grams
    if result.status == FLAGGED:
        side.flagged += 1
    elif result.status == NO_REDUCTION:
        side.no_reduction += 1
    else:
        side.rejected += 1
    return result.status if result.status != "invalid" else REJECTED, 0
