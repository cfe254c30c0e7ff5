"""The verification pipeline: the methodology in effect, anti-fraud, caps, then a decision.

Every way in (a partner batch, a held activity released by a link, a self-report, a reviewer's
approval) goes through :func:`decide`, which works on a whole batch at once. One rule picks the
methodology: the version in effect at the activity's time (its plugin validates the quantities and
quantifies them, in one pass; :mod:`app.methodology.outcome`). An activity that avoids nothing is
recorded as "no reduction", with why, and earns nothing. Then :func:`decide` locks the
participants (so concurrent batches for one participant decide one after another), reads
the few rows its rules need, screens and caps; :func:`write_reductions` and :func:`credit` then
write in bulk in the caller's transaction.

Anti-fraud rules, in order, against what is already credited and what came earlier in the batch:
the same real trip reported by two sources is credited once (:mod:`app.activities.matching`), and
any other activity reported twice (same participant, kind, 10-minute bucket and quantities) too; a
trip overlapping a credited trip of the same participant is rejected; a trip beyond
``max_trips_per_day`` a day goes to review. Last, a methodology's caps (grams per participant per
local day and month) decide how much of each verified reduction is credited.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters
from app.accounts.models import User
from app.activities import bulk, matching, reasons, tallies
from app.activities.kinds import trips_of
from app.activities.models import Activity, ActivityStatus
from app.errors import DomainError
from app.ledger.batch import id_list_filter
from app.ledger.policy import LedgerPolicy
from app.methodology import outcome
from app.methodology.apply import Applied, PreparedVersion, VersionResolver
from app.reductions.issuance import issue_points_for
from app.reductions.models import Reduction, ReductionStatus
from app.reductions.services import reduction_row
from methodologies.base import Methodology, Quantification

_BUCKET_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Settings:
    """The city's rules for one run, as plain values from the edge."""

    tz: ZoneInfo
    max_trips_per_day: int
    plugins: Mapping[str, type[Methodology]]
    now: datetime
    ledger_policy: LedgerPolicy
    tolerance: matching.Tolerance = field(default_factory=matching.Tolerance)


@dataclass(slots=True)
class Candidate:
    """One activity on its way through the pipeline; ``decide`` fills the outcome fields.

    ``prepared`` is the version in effect when the caller resolved it already (a partner batch
    validates each item with it); ``quantities`` are then typed by its plugin. Otherwise
    :func:`decide` resolves the version and loads ``dumped`` (the stored quantities) with it.
    """

    kind: str
    occurred_at: datetime
    quantities: Mapping[str, Any] | None
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
    prepared: PreparedVersion | None = None
    partner_id: int | None = None  # who reported it (None: the resident)
    trip: matching.Trip | None = None
    credited_g: int | None = None  # after the methodology's caps (verified only)
    cap: str | None = None  # the cap that held back part of it, if any


def resolve(resolver: VersionResolver, kind: str, occurred_at: datetime) -> PreparedVersion | None:
    """The version in effect for ``kind`` at ``occurred_at``; None when none applies here."""
    try:
        return resolver.version_for(kind, occurred_at)
    except DomainError:  # no version in effect then, or its plugin is not installed here
        return None


# --- fingerprints -------------------------------------------------------------------------------


def fingerprint(
    participant_id: int, kind: str, occurred_at: datetime, quantities: Mapping[str, Any]
) -> str:
    """What makes two reports of an activity that is not a trip the same real action: all of
    its quantities and the 10-minute bucket it happened in (a meter reading, a weigh-in)."""
    bucket = int(occurred_at.timestamp()) // _BUCKET_SECONDS
    key = sorted((name, str(value)) for name, value in quantities.items())
    raw = json.dumps([participant_id, kind, bucket, key], default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


# --- measuring ----------------------------------------------------------------------------------


def _measure(candidate: Candidate, resolver: VersionResolver) -> None:
    """The version in effect: its schema, checks and quantify; sets a final status or a result."""
    prepared = candidate.prepared
    if prepared is None:
        prepared = resolve(resolver, candidate.kind, candidate.occurred_at)
        if prepared is None:
            candidate.status = ActivityStatus.REJECTED
            candidate.reasons.append(reasons.platform("no_methodology", reasons.REJECT))
            return
        raw, typed = candidate.dumped or {}, False
    else:
        raw, typed = candidate.quantities or {}, True
    measured = outcome.measure(
        prepared, raw, candidate.occurred_at, self_reported=candidate.self_reported, typed=typed
    )
    if measured.status == "invalid":
        candidate.status = ActivityStatus.REJECTED
        candidate.reasons.append(
            reasons.platform(
                "invalid_quantities", reasons.REJECT, fields=", ".join(measured.errors or ())
            )
        )
        return
    quantities = measured.quantities
    assert quantities is not None
    candidate.quantities = quantities
    candidate.prepared = prepared
    candidate.reasons.extend(reasons.from_finding(finding) for finding in measured.findings)
    if measured.status == "rejected":
        candidate.status = ActivityStatus.REJECTED
        return
    if candidate.dumped is None:
        candidate.dumped = prepared.plugin.dump_quantities(quantities)
    trip = matching.declared(prepared)
    if trip is not None:
        candidate.ends_at = matching.trip_end(
            candidate.occurred_at, quantities, matching.plausible_speed_kmh(prepared), trip
        )
    if measured.status == "no_reduction":
        candidate.status = ActivityStatus.NO_REDUCTION
        explained = outcome.measure(
            prepared, quantities, candidate.occurred_at,
            self_reported=candidate.self_reported, typed=True, explain=True,
        )  # fmt: skip
        candidate.reasons.append(reasons.no_reduction(explained.quantification))
        return
    result = measured.quantification
    assert result is not None
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
        findings=measured.findings,
        quantification=result,
        daily_cap_g=prepared.daily_cap_g,
    )


# --- deciding -----------------------------------------------------------------------------------


def decide(
    session: Session,
    candidates: Sequence[Candidate],
    settings: Settings,
    *,
    reviewed: bool = False,
    resolver: VersionResolver | None = None,
) -> None:
    """Set each candidate's status (verified, flagged, rejected or no reduction), reasons,
    fingerprint and credited grams.

    ``reviewed`` is a reviewer's approval: flags no longer hold the activity back, but duplicates,
    overlaps and caps still do. ``resolver``: the caller's, when it resolved versions already.
    """
    resolver = resolver or VersionResolver(session, settings.plugins)
    for candidate in candidates:
        candidate.status = None
        candidate.reasons = []
        candidate.trip = None
        candidate.credited_g = candidate.cap = candidate.fingerprint = None
        _measure(candidate, resolver)
    measured = [c for c in candidates if c.status is None]
    if not measured:
        return
    for candidate in measured:
        trip = matching.declared(candidate.prepared)
        if candidate.ends_at is not None and trip is not None:
            candidate.trip = matching.Trip(
                participant_id=candidate.participant_id,
                kind=candidate.kind,
                source=matching.source_of(candidate.partner_id),
                start=candidate.occurred_at,
                end=candidate.ends_at,
                distance_km=matching.distance_of(candidate.quantities or {}, trip),
                stations=matching.stations_of(candidate.quantities or {}, trip),
            )
        else:
            assert candidate.quantities is not None
            candidate.print_key = fingerprint(
                candidate.participant_id, candidate.kind, candidate.occurred_at,
                candidate.quantities,
            )  # fmt: skip
    # From here on, what the participants were credited is read and added to under their locks:
    # a concurrent batch for the same participants waits, then sees this one's credits.
    lock_participants(session, [c.participant_id for c in measured])
    history = _load_history(session, measured, settings)
    for candidate in sorted(measured, key=lambda c: c.occurred_at):
        _screen(candidate, history, settings, reviewed)
    _cap(session, [c for c in measured if c.status == ActivityStatus.VERIFIED], settings)


def lock_participants(session: Session, participants: Iterable[int]) -> None:
    """Lock the participants' account rows, in id order, until the transaction ends.

    Crediting decisions for one participant (caps, the same trip reported twice) are made one
    batch at a time, and so are a batch's reading of the consents and a change of consent
    releasing or purging what waits (:func:`app.activities.consents.queue_with_batches`). The
    lock is the account row's ``FOR NO KEY UPDATE``, not the wallet's: a resident redeeming at a
    counter locks only the wallet, so it never waits behind a partner's batch, and the rows the
    batch inserts (which reference the account) do not conflict with it.
    The wallets are locked later, by the issuance, for the short time the balances change.
    """
    ids = sorted(set(participants))
    if ids:
        session.flush()
        session.execute(
            sa.select(User.id)
            .where(id_list_filter(session.connection(), User.id, ids))
            .order_by(User.id)
            .with_for_update(key_share=True)
        ).all()


@dataclass(slots=True)
class _History:
    """Per participant: trips per local day, the credited trips near the batch's, fingerprints."""

    trips: dict[tuple[int, date], int] = field(default_factory=lambda: defaultdict(int))
    credited: dict[int, list[matching.Trip]] = field(default_factory=lambda: defaultdict(list))
    fingerprints: set[str] = field(default_factory=set)


def _times(column: Any, session: Session) -> Any:
    """A timestamp column read without per-row conversion where the driver returns aware values."""
    return adapters.of(session).aware_timestamps(column)


def _load_history(
    session: Session, candidates: Sequence[Candidate], settings: Settings
) -> _History:
    """What the rules need of the participants' history, and no more: any credited twin of an
    activity that is not a trip (by fingerprint), the number of trips on each local day of the
    batch (counted by the database), and the credited trips near the batch's trips in time (read
    through the index on participant and time)."""
    history = _History()
    prints = sorted({c.print_key for c in candidates if c.print_key})
    if prints:
        history.fingerprints.update(
            session.scalars(
                sa.select(Activity.credit_fingerprint).where(
                    adapters.of(session).any_of(Activity.credit_fingerprint, prints)
                )
            )
        )
    trips = [c.trip for c in candidates if c.trip is not None]
    if not trips:
        return history
    any_of = adapters.of(session).any_of
    participants = sorted({trip.participant_id for trip in trips})
    excluded = [c.activity_id for c in candidates if c.trip and c.activity_id is not None]
    declared = trips_of(settings.plugins)
    trip_kinds = sorted(declared)
    bounds = tallies.day_bounds(
        (t.start.astimezone(settings.tz).date() for t in trips), settings.tz
    )
    day = tallies.day_of(Activity.occurred_at, bounds)
    counts = (
        sa.select(Activity.participant_id, day.label("day"), sa.func.count())
        .where(
            any_of(Activity.participant_id, participants),
            Activity.occurred_at >= bounds[0][1],
            Activity.occurred_at < bounds[-1][2],
            Activity.kind.in_(trip_kinds),
            Activity.status.in_((ActivityStatus.VERIFIED, ActivityStatus.FLAGGED)),
        )
        .group_by(Activity.participant_id, day)
    )
    tolerance = settings.tolerance.start
    earliest = min(t.start for t in trips) - tolerance
    latest = max(max(t.start for t in trips) + tolerance, max(t.end for t in trips))
    near = sa.select(
        Activity.participant_id,
        Activity.kind,
        Activity.partner_id,
        _times(Activity.occurred_at, session),
        _times(Activity.ends_at, session),
        Activity.quantities,
    ).where(
        any_of(Activity.participant_id, participants),
        Activity.occurred_at >= earliest - matching.LONGEST_TRIP,
        Activity.occurred_at <= latest,
        Activity.ends_at >= earliest,
        Activity.kind.in_(trip_kinds),
        Activity.status == ActivityStatus.VERIFIED,
    )
    if excluded:
        counts = counts.where(Activity.id.not_in(excluded))
        near = near.where(Activity.id.not_in(excluded))
    for participant, index, count in session.execute(counts):
        if index is not None:
            history.trips[participant, bounds[index][0]] += count
    for participant, kind, partner_id, occurred_at, ends_at, quantities in session.execute(near):
        history.credited[participant].append(
            matching.Trip(
                participant_id=participant,
                kind=kind,
                source=matching.source_of(partner_id),
                start=occurred_at,
                end=ends_at,
                distance_km=matching.distance_of(quantities, declared.get(kind)),
                stations=matching.stations_of(quantities, declared.get(kind)),
            )
        )
    return history


def _screen(candidate: Candidate, history: _History, settings: Settings, reviewed: bool) -> None:
    participant = candidate.participant_id
    trip = candidate.trip
    tz = settings.tz
    if trip is None:
        if candidate.print_key in history.fingerprints:
            candidate.status = ActivityStatus.REJECTED
            candidate.reasons.append(reasons.platform("duplicate_trip", reasons.REJECT))
            return
    else:
        credited = history.credited.get(participant, ())
        if any(matching.same_trip(trip, other, settings.tolerance) for other in credited):
            candidate.status = ActivityStatus.REJECTED
            candidate.reasons.append(reasons.platform("duplicate_trip", reasons.REJECT))
            return
        for other in credited:
            if matching.overlaps(trip, other):
                candidate.status = ActivityStatus.REJECTED
                candidate.reasons.append(
                    reasons.platform(
                        "overlapping_trip",
                        reasons.REJECT,
                        time=other.start.astimezone(tz).strftime("%H:%M"),
                    )
                )
                return
        day = (participant, candidate.occurred_at.astimezone(tz).date())
        history.trips[day] += 1
        if history.trips[day] > settings.max_trips_per_day and not reviewed:
            candidate.reasons.append(
                reasons.platform("too_many_trips", reasons.FLAG, limit=settings.max_trips_per_day)
            )
    if candidate.self_reported and not reviewed:
        candidate.reasons.append(reasons.platform("self_reported", reasons.FLAG))
    flagged = not reviewed and any(r["severity"] == reasons.FLAG for r in candidate.reasons)
    if flagged:
        candidate.status = ActivityStatus.FLAGGED
        return
    candidate.status = ActivityStatus.VERIFIED
    if trip is None:
        candidate.fingerprint = candidate.print_key
        history.fingerprints.add(candidate.print_key)  # type: ignore[arg-type]
    else:
        history.credited[participant].append(trip)


# --- caps ---------------------------------------------------------------------------------------


def _cap(session: Session, verified: Sequence[Candidate], settings: Settings) -> None:
    """How much of each verified reduction the methodology's caps let through, in time order."""
    caps = {id(c): outcome.caps_of(c.prepared) for c in verified if c.prepared is not None}
    capped = [c for c in verified if caps.get(id(c)) != outcome.GramCaps()]
    for candidate in verified:
        if candidate.result is not None:
            candidate.credited_g = candidate.result.reduction_g
    if not capped:
        return
    room = tallies.cap_room(
        session,
        participants=[c.participant_id for c in capped],
        codes=[c.prepared.code for c in capped if c.prepared is not None],
        days=[c.occurred_at.astimezone(settings.tz).date() for c in capped],
        tz=settings.tz,
    )
    for candidate in sorted(capped, key=lambda c: c.occurred_at):
        assert candidate.prepared is not None and candidate.result is not None
        capping = room.take(
            candidate.participant_id, candidate.prepared.code, candidate.occurred_at,
            candidate.result.reduction_g, caps[id(candidate)],
        )  # fmt: skip
        candidate.credited_g = capping.credited_g
        candidate.cap = capping.cap
        if capping.capped_g:
            candidate.reasons.append(reasons.capped(capping))


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
    "credited_g",
    "cap",
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
        row["credited_g"] = candidate.credited_g  # None while flagged: caps apply on approval
        row["cap"] = candidate.cap
        rows.append(tuple(row[name] for name in REDUCTION_COLUMNS))
        candidate.reduction_id = reduction_id
    bulk.insert_rows(session, Reduction.__table__, REDUCTION_COLUMNS, rows)


def credit(session: Session, candidates: Iterable[Candidate], settings: Settings) -> None:
    """Issue points for the verified candidates' reductions, in the caller's transaction."""
    ids = [c.reduction_id for c in candidates if c.status == ActivityStatus.VERIFIED]
    if ids:
        issue_points_for(session, ids, policy=settings.ledger_policy, now=settings.now)  # type: ignore[arg-type]
