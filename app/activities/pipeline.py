"""The verification pipeline: methodology checks and quantify, anti-fraud, then a decision.

Every way in (a partner batch, a held activity released by a link, a self-report, a reviewer's
approval) goes through :func:`decide`, which works on a whole batch at once: one query for the
methodology versions, one for the participants' credited activities around the batch's days. It
decides; :func:`write_reductions` and :func:`credit` then write in bulk in the caller's
transaction.

Anti-fraud rules, in order, against what is already credited and what came earlier in the batch:
the same real trip (a fingerprint of participant, kind, 10-minute bucket and key quantities) is
credited once; a trip overlapping a credited trip of the same participant is rejected; a trip
beyond ``max_trips_per_day`` a day goes to review; a methodology's daily cap is never exceeded.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters
from app.activities import bulk, reasons
from app.activities.kinds import trips_of
from app.activities.models import Activity, ActivityStatus
from app.errors import DomainError
from app.ledger.policy import LedgerPolicy
from app.methodology.apply import Applied, VersionResolver
from app.reductions.issuance import issue_points_for
from app.reductions.models import Reduction, ReductionStatus
from app.reductions.services import reduction_row
from methodologies.base import Activity as MethodologyActivity
from methodologies.base import Methodology, Quantification, QuantificationError, Severity
from methodologies.kinds import Trip

_BUCKET_SECONDS = 600
_NO_DURATION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Settings:
    """The city's rules for one run, as plain values from the edge."""

    tz: ZoneInfo
    max_trips_per_day: int
    plugins: Mapping[str, type[Methodology]]
    now: datetime
    ledger_policy: LedgerPolicy


@dataclass(slots=True)
class Candidate:
    """One activity on its way through the pipeline; ``decide`` fills the outcome fields."""

    kind: str
    occurred_at: datetime
    quantities: Mapping[str, Any]  # typed, as the methodology's input schema loads them
    participant_id: int
    self_reported: bool = False
    evidence_sha256: str | None = None
    activity_id: int | None = None  # an existing row (released, reviewed); None for new ones
    ends_at: datetime | None = None
    status: ActivityStatus | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    version_id: int | None = None
    result: Quantification | None = None
    applied: Applied | None = None
    dumped: dict[str, Any] | None = None  # quantities as the input schema dumps them
    print_key: str | None = None  # what makes it the same real action (see fingerprint)
    fingerprint: str | None = None  # set when credited: holds the credit slot
    reduction_id: int | None = None


# --- fingerprints and intervals -----------------------------------------------------------------


def trip_end(
    trip: Trip | None, occurred_at: datetime, quantities: Mapping[str, Any]
) -> datetime | None:
    """When a trip ended: its start plus the reported duration (a minute when none is given)."""
    if trip is None:
        return None
    minutes = quantities.get(trip.duration_field)
    if not minutes:
        return occurred_at + _NO_DURATION
    return occurred_at + timedelta(minutes=float(minutes))


def fingerprint(
    participant_id: int,
    kind: str,
    occurred_at: datetime,
    quantities: Mapping[str, Any],
    trip: Trip | None = None,
) -> str:
    """What makes two reports the same real action, whoever reported it.

    A trip: its route fields (stations) when given, else the distance to the whole km; anything
    else: all of its quantities. Both with the 10-minute bucket the action started in.
    """
    bucket = int(occurred_at.timestamp()) // _BUCKET_SECONDS
    route = trip.route_fields if trip is not None else ()
    if route and all(name in quantities for name in route):
        key: Any = sorted(str(quantities[name]) for name in route)
    elif trip is not None and trip.distance_field in quantities:
        key = str(Decimal(quantities[trip.distance_field]).quantize(Decimal(1)))
    else:
        key = sorted((name, str(value)) for name, value in quantities.items())
    raw = json.dumps([participant_id, kind, bucket, key], default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


# --- deciding -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _History:
    """Per participant: trips per local day, credited trip intervals, credited fingerprints."""

    trips: dict[tuple[int, date], int] = field(default_factory=lambda: defaultdict(int))
    intervals: dict[int, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    fingerprints: set[str] = field(default_factory=set)


def _times(column: Any, session: Session) -> Any:
    """A timestamp column read without per-row conversion where the driver returns aware values."""
    return adapters.of(session).aware_timestamps(column)


def _load_history(
    session: Session, candidates: Sequence[Candidate], settings: Settings
) -> _History:
    """What the batch's participants already have: trips per local day of the batch (credited or
    under review), the credited trips that could overlap its trips (intervals), and any credited
    twin of a candidate. Trips of other days are read only if they end after the batch's first
    trip starts, so a month of history costs what a day does."""
    history = _History()
    if not candidates:
        return history
    prints = sorted({c.print_key for c in candidates if c.print_key})
    if prints:
        history.fingerprints.update(
            session.scalars(
                sa.select(Activity.credit_fingerprint).where(
                    adapters.of(session).any_of(Activity.credit_fingerprint, prints)
                )
            )
        )
    trip_kinds = trips_of(settings.plugins)
    trips = [c for c in candidates if c.kind in trip_kinds]
    if not trips:
        return history
    participants = sorted({c.participant_id for c in trips})
    tz = settings.tz
    earliest = min(c.occurred_at for c in trips)
    latest = max(c.occurred_at for c in trips)
    first_day_starts = datetime.combine(earliest.astimezone(tz).date(), time(), tz)
    last_day_ends = datetime.combine(latest.astimezone(tz).date() + timedelta(days=1), time(), tz)
    last_trip_ends = max(c.ends_at or c.occurred_at for c in trips)
    excluded = [c.activity_id for c in trips if c.activity_id is not None]
    stmt = sa.select(
        Activity.participant_id,
        _times(Activity.occurred_at, session),
        _times(Activity.ends_at, session),
        sa.type_coerce(Activity.status, sa.String),  # compared as text: no enum per row
    ).where(
        adapters.of(session).any_of(Activity.participant_id, participants),
        Activity.occurred_at >= earliest - timedelta(days=1),
        Activity.occurred_at < max(last_day_ends, last_trip_ends),
        sa.or_(Activity.occurred_at >= first_day_starts, Activity.ends_at > earliest),
        Activity.kind.in_(sorted(trip_kinds)),
        Activity.status.in_((ActivityStatus.VERIFIED, ActivityStatus.FLAGGED)),
    )
    if excluded:
        stmt = stmt.where(Activity.id.not_in(excluded))
    counts = history.trips
    intervals = history.intervals
    verified = ActivityStatus.VERIFIED.value
    for participant, occurred_at, ends_at, status in session.execute(stmt):
        counts[participant, occurred_at.astimezone(tz).date()] += 1
        if status == verified and ends_at is not None:
            intervals[participant].append((occurred_at, ends_at))
    return history


def _measure(candidate: Candidate, resolver: VersionResolver) -> None:
    """The methodology in effect: its checks and quantify; sets a rejection or the result."""
    try:
        prepared = resolver.version_for(candidate.kind, candidate.occurred_at)
    except DomainError:  # no version in effect then, or its plugin is not installed here
        candidate.status = ActivityStatus.REJECTED
        candidate.reasons.append(reasons.platform("no_methodology", reasons.REJECT))
        return
    cls, params = prepared.plugin, prepared.params
    activity = MethodologyActivity(
        candidate.kind, candidate.quantities, candidate.occurred_at, candidate.self_reported
    )
    findings = cls.check(activity, params)
    for finding in findings:
        candidate.reasons.append(reasons.from_finding(finding))
    if any(finding.severity == Severity.REJECT for finding in findings):
        candidate.status = ActivityStatus.REJECTED
        return
    try:
        result = cls.quantify(activity, params)
    except QuantificationError as error:
        candidate.reasons.append(reasons.from_finding(error.finding))
        candidate.status = ActivityStatus.REJECTED
        return
    if candidate.dumped is None:
        candidate.dumped = cls.dump_quantities(candidate.quantities)
    candidate.result = result
    candidate.applied = Applied(
        version_id=prepared.id,
        code=prepared.code,
        version=prepared.version,
        activity_kind=candidate.kind,
        occurred_at=candidate.occurred_at,
        self_reported=candidate.self_reported,
        parameters=prepared.parameters,
        quantities=candidate.dumped,
        findings=tuple(findings),
        quantification=result,
        daily_cap_g=prepared.daily_cap_g,
    )


def decide(
    session: Session,
    candidates: Sequence[Candidate],
    settings: Settings,
    *,
    reviewed: bool = False,
) -> None:
    """Set each candidate's status (verified, flagged or rejected), reasons and fingerprint.

    ``reviewed`` is a reviewer's approval: flags no longer hold the activity back, but duplicates,
    overlaps and daily caps still do.
    """
    resolver = VersionResolver(session, settings.plugins)
    trips = trips_of(settings.plugins)
    for candidate in candidates:
        candidate.status = None
        candidate.reasons = []
        if candidate.ends_at is None:
            candidate.ends_at = trip_end(
                trips.get(candidate.kind), candidate.occurred_at, candidate.quantities
            )
        _measure(candidate, resolver)
    measured = [c for c in candidates if c.status is None]
    for candidate in measured:
        candidate.print_key = fingerprint(
            candidate.participant_id,
            candidate.kind,
            candidate.occurred_at,
            candidate.quantities,
            trips.get(candidate.kind),
        )
    history = _load_history(session, measured, settings)
    tz = settings.tz
    for candidate in sorted(measured, key=lambda c: c.occurred_at):
        _screen(candidate, history, tz, settings.max_trips_per_day, reviewed)


def _screen(
    candidate: Candidate, history: _History, tz: ZoneInfo, max_trips: int, reviewed: bool
) -> None:
    participant = candidate.participant_id
    print_ = candidate.print_key
    assert print_ is not None
    if print_ in history.fingerprints:
        candidate.status = ActivityStatus.REJECTED
        candidate.reasons.append(reasons.platform("duplicate_trip", reasons.REJECT))
        return
    ends_at = candidate.ends_at
    if ends_at is not None:
        start = candidate.occurred_at
        for other_start, other_end in history.intervals.get(participant, ()):
            if start < other_end and other_start < ends_at:
                candidate.status = ActivityStatus.REJECTED
                candidate.reasons.append(
                    reasons.platform(
                        "overlapping_trip",
                        reasons.REJECT,
                        time=other_start.astimezone(tz).strftime("%H:%M"),
                    )
                )
                return
    if ends_at is not None:  # a trip (only trips have an end)
        day = (participant, candidate.occurred_at.astimezone(tz).date())
        history.trips[day] += 1
        if history.trips[day] > max_trips and not reviewed:
            candidate.reasons.append(
                reasons.platform("too_many_trips", reasons.FLAG, limit=max_trips)
            )
    if candidate.self_reported and not reviewed:
        candidate.reasons.append(reasons.platform("self_reported", reasons.FLAG))
    flagged = not reviewed and any(r["severity"] == reasons.FLAG for r in candidate.reasons)
    if flagged:
        candidate.status = ActivityStatus.FLAGGED
        return
    candidate.status = ActivityStatus.VERIFIED
    candidate.fingerprint = print_
    history.fingerprints.add(print_)
    if ends_at is not None:
        history.intervals[participant].append((candidate.occurred_at, ends_at))


# --- writing ------------------------------------------------------------------------------------

#: The columns :func:`write_reductions` writes, in its rows' order.
REDUCTION_COLUMNS = (
    "id",
    "participant_id",
    "methodology_version_id",
    "activity_kind",
    "occurred_at",
    "self_reported",
    "quantities",
    "baseline_g",
    "project_g",
    "reduction_g",
    "capped",
    "trace",
    "findings",
    "status",
    "created_at",
    "verified_at",
)


def write_reductions(session: Session, candidates: Iterable[Candidate], now: datetime) -> None:
    """A reduction for every verified or flagged candidate (pending while flagged), in bulk.

    Rows are the methodology engineer's ``reduction_row``, written by COPY on PostgreSQL.
    """
    chosen = [
        c
        for c in candidates
        if c.status in (ActivityStatus.VERIFIED, ActivityStatus.FLAGGED) and c.reduction_id is None
    ]
    ids = bulk.allocate_ids(session, Reduction.__table__, len(chosen))
    rows = []
    for candidate, reduction_id in zip(chosen, ids, strict=True):
        assert candidate.applied is not None
        status = (
            ReductionStatus.VERIFIED
            if candidate.status == ActivityStatus.VERIFIED
            else ReductionStatus.PENDING
        )
        row = reduction_row(candidate.participant_id, candidate.applied, status, now=now)
        row["id"] = reduction_id
        row["status"] = status.value
        rows.append(tuple(row[name] for name in REDUCTION_COLUMNS))
        candidate.reduction_id = reduction_id
    bulk.insert_rows(session, Reduction.__table__, REDUCTION_COLUMNS, rows)


def credit(session: Session, candidates: Iterable[Candidate], settings: Settings) -> None:
    """Issue points for the verified candidates' reductions, in the caller's transaction."""
    ids = [c.reduction_id for c in candidates if c.status == ActivityStatus.VERIFIED]
    if ids:
        issue_points_for(session, ids, policy=settings.ledger_policy, now=settings.now)  # type: ignore[arg-type]
