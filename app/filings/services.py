"""Filing rules: bundling verified reductions, the four-eyes workflow, packages, offset claims.

Bundling is set-based (one INSERT … SELECT per batch) so a million reductions bundle in seconds,
and it runs inside the caller's transaction: a run that dies midway leaves nothing behind, and the
next run bundles the same reductions. The partial unique index on live filing lines is what makes
"a verified reduction is in at most one batch that is not rejected" hold whatever runs at once;
on PostgreSQL bundling runs also queue on a transaction-scoped advisory lock, so a second run
waits for the first and then finds nothing left to bundle instead of failing on that index.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import clock
from app.activities.models import Activity, EvidenceFile
from app.audit import services as audit
from app.audit.services import SYSTEM, Actor
from app.errors import Conflict, DomainError, NotFound
from app.filings import package
from app.filings.models import (
    FILED,
    BatchStatus,
    FilingBatch,
    FilingLine,
    OffsetAllocation,
    OffsetClaim,
    ParticipantPseudonym,
)
from app.flush import before_flush
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction, ReductionStatus

#: First key of the PostgreSQL advisory lock that queues bundling runs ("TPHB"); the second is
#: the schema's hash, so platforms sharing one database in schemas of their own never wait.
BUNDLING_LOCK = int.from_bytes(b"TPHB", "big") & 0x7FFF_FFFF
_BATCH_CONTENT = (
    "serial", "period_start", "period_end", "timezone", "methodology_version_id",
    "methodology_code", "methodology_version", "plugin_version", "parameters", "activities",
    "participants", "total_g", "manifest", "summary_html", "root_hash", "created_by_id",
)  # fmt: skip
_DECISION = {"status", "decided_by_id", "decided_at", "rejection_reason"}


def pseudonym_key(secret_key: str) -> bytes:
    """The filing key, derived from the app's secret so no second secret has to be kept."""
    return hmac.new(secret_key.encode(), b"tanpuhui filing pseudonyms", hashlib.sha256).digest()


# -- bundling -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BundleSettings:
    """Plain values the bundling edge passes in."""

    tz: ZoneInfo
    city: str
    pseudonym_key: bytes


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where a local calendar month starts and the next one starts."""
    start = month.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return _local_midnight(start, tz), _local_midnight(following, tz)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def _in_live_batch() -> sa.Exists:
    return (
        sa.select(FilingLine.reduction_id)
        # "active = true" (not "IS TRUE") so the planner can use the partial unique index.
        .where(FilingLine.reduction_id == Reduction.id, FilingLine.active == sa.true())
        .exists()
    )


def _free_verified(*conditions: Any) -> sa.Select[Any]:
    return sa.select(Reduction.id).where(
        Reduction.status == ReductionStatus.VERIFIED, ~_in_live_batch(), *conditions
    )


def _queue_behind_other_bundling_runs(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
            {"key": BUNDLING_LOCK},
        )


def bundle_due(
    session: Session, settings: BundleSettings, *, now: datetime, actor: Actor = SYSTEM
) -> dict[str, int]:
    """Bundle every free verified reduction of every complete local month before ``now``.

    One batch per methodology version and month; months already bundled get a further batch
    only for reductions verified (or released by a rejection) since. Returns counts for the run.
    """
    _queue_behind_other_bundling_runs(session)
    this_month = clock.local_date(now, settings.tz).replace(day=1)
    cutoff, _ = month_bounds(this_month, settings.tz)
    firsts = session.execute(
        sa.select(Reduction.methodology_version_id, sa.func.min(Reduction.occurred_at))
        .where(Reduction.id.in_(_free_verified(Reduction.occurred_at < cutoff)))
        .group_by(Reduction.methodology_version_id)
        .order_by(Reduction.methodology_version_id)
    ).all()
    batches = []
    for version_id, first in firsts:
        month = clock.local_date(first, settings.tz).replace(day=1)
        while month < this_month:
            batch = bundle_month(session, settings, version_id, month, actor=actor)
            if batch is not None:
                batches.append(batch)
            month = _next_month(month)
    return {
        "batches": len(batches),
        "lines": sum(batch.activities for batch in batches),
        "grams": sum(batch.total_g for batch in batches),
    }


def bundle_month(
    session: Session,
    settings: BundleSettings,
    methodology_version_id: int,
    month: date,
    *,
    actor: Actor = SYSTEM,
) -> FilingBatch | None:
    """A draft batch of the free verified reductions of one version and local month, or None."""
    _queue_behind_other_bundling_runs(session)
    start, end = month_bounds(month, settings.tz)
    in_window = (
        Reduction.methodology_version_id == methodology_version_id,
        Reduction.occurred_at >= start,
        Reduction.occurred_at < end,
    )
    if not session.scalar(sa.select(_free_verified(*in_window).exists())):
        return None
    version = session.get(MethodologyVersion, methodology_version_id)
    if version is None:
        raise NotFound("methodology_version")
    period_start = month.replace(day=1)
    batch = FilingBatch(
        serial=f"pending-{period_start:%Y%m}-{methodology_version_id}",
        period_start=period_start,
        period_end=_next_month(period_start),
        timezone=settings.tz.key,
        methodology_version_id=version.id,
        methodology_code=version.code,
        methodology_version=version.version,
        plugin_version=version.plugin_version,
        parameters=version.parameters,
        activities=0,
        participants=0,
        total_g=0,
        manifest="",
        summary_html="",
        root_hash="",
        created_by_id=actor.user_id,
    )
    session.add(batch)
    session.flush()
    batch.serial = f"TPH-{period_start:%Y%m}-{batch.id:06d}"
    # Reductions already in a live batch are skipped by the partial unique index itself: an
    # anti-join against filing_lines would rescan the rows this very statement inserts.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(FilingLine)
        .from_select(
            ["batch_id", "reduction_id", "reduction_g", "active"],
            sa.select(
                sa.literal(batch.id, sa.BigInteger), Reduction.id, Reduction.reduction_g, sa.true()
            ).where(Reduction.status == ReductionStatus.VERIFIED, *in_window),
        )
        .on_conflict_do_nothing(
            index_elements=[FilingLine.reduction_id], index_where=sa.text("active")
        )
    )
    _make_pseudonyms(session, settings.pseudonym_key, *in_window)
    session.flush()
    # One pass over the lines gives both the file's hash and the batch's totals.
    totals = _Totals()
    lines_sha = package.sha256_of(package.lines_csv(totals.count(line_rows(session, batch.id))))
    batch.activities, batch.participants, batch.total_g = totals.figures()
    body = _manifest_body(batch, settings.city)
    summary = package.summary_html(body, lines_sha)
    manifest = package.finish_manifest(
        body, {package.LINES: lines_sha, package.SUMMARY: hashlib.sha256(summary).hexdigest()}
    )
    batch.manifest = manifest.decode()
    batch.summary_html = summary.decode()
    batch.root_hash = json.loads(manifest)["root_hash"]
    audit.record(
        session, actor, "filing.bundle", "filing_batch", batch.id,
        {"serial": batch.serial, "activities": batch.activities, "total_g": batch.total_g,
         "root_hash": batch.root_hash},
    )  # fmt: skip
    return batch


class _Totals:
    """Lines, distinct participants and grams, counted while the lines stream past."""

    def __init__(self) -> None:
        self.lines = 0
        self.grams = 0
        self.participants: set[str] = set()

    def count(self, rows: Iterator[package.LineRow]) -> Iterator[package.LineRow]:
        for row in rows:
            self.lines += 1
            self.grams += row.reduction_g
            self.participants.add(row.participant)
            yield row

    def figures(self) -> tuple[int, int, int]:
        return self.lines, len(self.participants), self.grams


def _make_pseudonyms(session: Session, key: bytes, *in_window: Any) -> None:
    """Give each participant of the window's verified reductions a pseudonym if they have none
    (kept for good, so packages stay rebuildable whatever happens to the key)."""
    missing = session.scalars(
        sa.select(Reduction.participant_id)
        .distinct()
        .where(
            Reduction.status == ReductionStatus.VERIFIED,
            *in_window,
            ~sa.select(ParticipantPseudonym.participant_id)
            .where(ParticipantPseudonym.participant_id == Reduction.participant_id)
            .exists(),
        )
    ).all()
    if missing:  # one executemany: the driver batches the rows, the statement compiles once
        session.execute(
            ParticipantPseudonym.__table__.insert(),
            [{"participant_id": p, "pseudonym": package.pseudonym(key, p)} for p in missing],
        )


def _manifest_body(batch: FilingBatch, city: str) -> dict[str, Any]:
    return {
        "serial": batch.serial,
        "city": city,
        "period": {
            "start": batch.period_start.isoformat(),
            "end": batch.period_end.isoformat(),
            "timezone": batch.timezone,
        },
        "methodology": {
            "code": batch.methodology_code,
            "version": batch.methodology_version,
            "plugin_version": batch.plugin_version,
            "parameters": batch.parameters,
        },
        "activities": batch.activities,
        "participants": batch.participants,
        "total_g": batch.total_g,
        "total_tonnes": str(package.tonnes(batch.total_g)),
        "created_at": batch.created_at.isoformat(),
    }


#: Lines buffered per fetch while streaming a batch: bounded memory whatever its size.
LINE_CHUNK = 20_000


def _utc_text(column: Any, dialect: str) -> Any:
    """The instant as ISO 8601 in UTC with microseconds, formatted by the database itself."""
    if dialect == "postgresql":
        return sa.func.to_char(
            sa.func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'
        )
    # SQLite keeps UTC instants as "YYYY-MM-DD HH:MM:SS.ffffff".
    return sa.func.replace(sa.cast(column, sa.Text), " ", "T") + "+00:00"


def line_rows(session: Session, batch_id: int) -> Iterator[package.LineRow]:
    """The batch's lines in package order, streamed from one query in chunks of Core rows.

    One query sorted once, read through a server-side cursor on PostgreSQL: keyset chunks would
    each re-join and re-sort the rest of a batch whose rows this very transaction just wrote
    (their statistics are not in yet), which is quadratic. Timestamps and quantities come back
    as text, ready for the CSV: a million lines stream through here, so nothing is parsed only
    to be printed again.
    """
    connection = session.connection()
    stmt = (
        sa.select(
            Reduction.id,
            Activity.id,
            ParticipantPseudonym.pseudonym,
            Reduction.activity_kind,
            _utc_text(Reduction.occurred_at, connection.dialect.name),
            Reduction.self_reported,
            sa.cast(Reduction.quantities, sa.Text),
            Reduction.baseline_g,
            Reduction.project_g,
            FilingLine.reduction_g,
            Reduction.capped,
        )
        .select_from(
            sa.join(FilingLine, Reduction, Reduction.id == FilingLine.reduction_id)
            .join(
                ParticipantPseudonym,
                ParticipantPseudonym.participant_id == Reduction.participant_id,
            )
            .outerjoin(Activity, Activity.reduction_id == Reduction.id)
        )
        .where(FilingLine.batch_id == batch_id)
        .order_by(FilingLine.reduction_id)
        .execution_options(yield_per=LINE_CHUNK)
    )
    result = connection.execute(stmt)
    try:
        for rows in result.partitions():
            for row in rows:
                yield package.LineRow(*row)
    finally:
        result.close()


class PackageMismatch(RuntimeError):
    """The lines rebuilt from the database no longer hash to what the manifest recorded."""


def write_package(session: Session, batch: FilingBatch, target: IO[bytes]) -> None:
    """Write the batch's zip to ``target``; refuses if the rebuilt lines differ from the filing."""
    expected = json.loads(batch.manifest)["files"][package.LINES]
    digest = hashlib.sha256()

    def hashed() -> Iterator[bytes]:
        for chunk in package.lines_csv(line_rows(session, batch.id)):
            digest.update(chunk)
            yield chunk

    package.write_zip(
        target,
        manifest=batch.manifest.encode(),
        summary=batch.summary_html.encode(),
        lines=hashed(),
        stamp=batch.created_at,
    )
    if digest.hexdigest() != expected:
        raise PackageMismatch(f"lines of {batch.serial} no longer match the filed manifest")


# -- workflow -------------------------------------------------------------------------------------


def get_batch(session: Session, batch_id: int, *, lock: bool = False) -> FilingBatch:
    stmt = sa.select(FilingBatch).where(FilingBatch.id == batch_id)
    batch = session.scalar(stmt.with_for_update() if lock else stmt)
    if batch is None:
        raise NotFound("filing_batch")
    return batch


def _require_status(batch: FilingBatch, *allowed: BatchStatus) -> None:
    if batch.status not in allowed:
        raise Conflict(
            "batch_status",
            _l("This batch is %(status)s; that cannot be done now.", status=batch.status.value),
        )


def approve(session: Session, actor: Actor, batch_id: int) -> FilingBatch:
    """One of the two approvals a draft needs, each by a different bureau colleague (audited)."""
    batch = get_batch(session, batch_id, lock=True)
    _require_status(batch, BatchStatus.DRAFT)
    if actor.user_id is not None and actor.user_id == batch.created_by_id:
        raise DomainError(
            "own_batch",
            _l("You bundled this batch; two other bureau colleagues must approve it."),
            status=403,
        )
    now = clock.now()
    if batch.first_approved_by_id is None:
        batch.first_approved_by_id, batch.first_approved_at = actor.user_id, now
    elif batch.first_approved_by_id == actor.user_id:
        raise DomainError(
            "already_approved",
            _l("You have approved this batch already; a different colleague gives the second."),
            status=403,
        )
    else:
        batch.second_approved_by_id, batch.second_approved_at = actor.user_id, now
        batch.status = BatchStatus.APPROVED
    session.flush()
    audit.record(
        session, actor, "filing.approve", "filing_batch", batch.id,
        {"serial": batch.serial, "status": batch.status.value},
    )  # fmt: skip
    return batch


def submit(
    session: Session, actor: Actor, batch_id: int, *, registry_reference: str
) -> FilingBatch:
    """Record that an approved batch was filed, with the registry's reference (audited)."""
    reference = (registry_reference or "").strip()
    if not 1 <= len(reference) <= 128:
        raise DomainError(
            "invalid_reference",
            _l("Enter the registry's reference (up to 128 characters)."),
            field="registry_reference",
        )
    batch = get_batch(session, batch_id, lock=True)
    _require_status(batch, BatchStatus.APPROVED)
    batch.status = BatchStatus.SUBMITTED
    batch.submitted_by_id, batch.submitted_at = actor.user_id, clock.now()
    batch.registry_reference = reference
    session.flush()
    audit.record(
        session, actor, "filing.submit", "filing_batch", batch.id,
        {"serial": batch.serial, "registry_reference": reference},
    )  # fmt: skip
    return batch


def accept(session: Session, actor: Actor, batch_id: int) -> FilingBatch:
    """The registry accepted a submitted batch: its tonnes may now be claimed (audited)."""
    batch = get_batch(session, batch_id, lock=True)
    _require_status(batch, BatchStatus.SUBMITTED)
    batch.status = BatchStatus.ACCEPTED
    batch.decided_by_id, batch.decided_at = actor.user_id, clock.now()
    session.flush()
    audit.record(
        session, actor, "filing.accept", "filing_batch", batch.id, {"serial": batch.serial}
    )
    return batch


def reject(session: Session, actor: Actor, batch_id: int, *, reason: str) -> FilingBatch:
    """Reject a batch (the bureau's or the registry's decision); its reductions are released for a
    later batch (audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", _l("Say why the batch is rejected."), field="reason")
    batch = get_batch(session, batch_id, lock=True)
    _require_status(batch, BatchStatus.DRAFT, BatchStatus.APPROVED, BatchStatus.SUBMITTED)
    batch.status = BatchStatus.REJECTED
    batch.decided_by_id, batch.decided_at = actor.user_id, clock.now()
    batch.rejection_reason = reason[:2000]
    session.flush()
    released = session.execute(
        sa.update(FilingLine)
        .where(FilingLine.batch_id == batch.id, FilingLine.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        session, actor, "filing.reject", "filing_batch", batch.id,
        {"serial": batch.serial, "reason": batch.rejection_reason, "released": released},
    )  # fmt: skip
    return batch


# -- the ORM refuses to change a filed batch ------------------------------------------------------


class FiledBatchIsImmutable(RuntimeError):
    pass


@before_flush
def _refuse_changes_to_filed_batches(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, FilingBatch | FilingLine | OffsetClaim | OffsetAllocation):
            raise FiledBatchIsImmutable(f"{type(obj).__name__} rows are never deleted")
    for obj in session.dirty:
        if isinstance(obj, FilingLine | OffsetClaim | OffsetAllocation) and session.is_modified(
            obj
        ):
            raise FiledBatchIsImmutable(f"{type(obj).__name__} rows never change")
        if isinstance(obj, FilingBatch) and session.is_modified(obj):
            _check_batch_change(obj)


def _check_batch_change(batch: FilingBatch) -> None:
    state = sa.inspect(batch)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    old_status = _old_value(state, "status")
    old_root = _old_value(state, "root_hash")
    if old_root and changed & set(_BATCH_CONTENT):
        raise FiledBatchIsImmutable(f"the contents of batch {batch.serial} never change")
    if old_status in FILED:
        registry_decision = old_status == BatchStatus.SUBMITTED and batch.status in {
            BatchStatus.ACCEPTED,
            BatchStatus.REJECTED,
        }
        if not registry_decision or not changed <= _DECISION:
            raise FiledBatchIsImmutable(f"batch {batch.serial} is filed and never changes")


def _old_value(state: sa.orm.InstanceState[Any], key: str) -> Any:
    history = state.attrs[key].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else None


# -- carbon-neutral events ------------------------------------------------------------------------


def parse_tonnes(text: str) -> int:
    """Tonnes CO2e as typed (up to 6 decimals) to whole grams."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        value = Decimal(-1)
    grams = value * package.GRAMS_PER_TONNE
    if not value.is_finite() or value <= 0 or grams != grams.to_integral_value():
        raise DomainError(
            "invalid_tonnes",
            _l("Enter tonnes greater than zero, with at most 6 decimal places."),
            field="tonnes",
        )
    return int(grams)


def remaining_by_batch(session: Session) -> dict[int, int]:
    """Grams still claimable from each accepted batch, oldest batch first."""
    retired = (
        sa.select(sa.func.coalesce(sa.func.sum(OffsetAllocation.retired_g), 0))
        .where(OffsetAllocation.batch_id == FilingBatch.id)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(FilingBatch.id, FilingBatch.total_g - retired)
        .where(FilingBatch.status == BatchStatus.ACCEPTED)
        .order_by(FilingBatch.id)
    ).all()
    return {batch_id: int(left) for batch_id, left in rows if left > 0}


_EVENT_NAME = re.compile(r"\S")


def claim_offset(
    session: Session,
    actor: Actor,
    *,
    organisation_id: int,
    event_name: str,
    event_date: date,
    grams: int,
) -> OffsetClaim:
    """Retire ``grams`` from accepted batches, oldest first, for one event (audited).

    The accepted batches are locked first, so two claims at once cannot both take the last
    tonnes: the second waits, then sees what the first retired.
    """
    name = (event_name or "").strip()
    if not _EVENT_NAME.search(name) or len(name) > 128:
        raise DomainError(
            "invalid_event_name", _l("Enter the event's name (up to 128 characters)."),
            field="event_name",
        )  # fmt: skip
    if grams <= 0:
        raise DomainError("invalid_tonnes", _l("Enter tonnes greater than zero."), field="tonnes")
    session.execute(
        sa.select(FilingBatch.id)
        .where(FilingBatch.status == BatchStatus.ACCEPTED)
        .order_by(FilingBatch.id)
        .with_for_update()
    ).all()
    remaining = remaining_by_batch(session)
    available = sum(remaining.values())
    if grams > available:
        raise DomainError(
            "exceeds_remaining",
            _l(
                "Only %(tonnes)s t CO2e remain to be claimed.",
                tonnes=str(package.tonnes(available)),
            ),
            field="tonnes",
            status=409,
        )
    # Claims queue on the locks above, so counting gives each its own certificate number.
    number = session.scalar(sa.select(sa.func.count()).select_from(OffsetClaim)) + 1
    claim = OffsetClaim(
        serial=f"CN-{event_date.year}-{number:06d}",
        organisation_id=organisation_id,
        event_name=name,
        event_date=event_date,
        claimed_g=grams,
        claimed_by_id=actor.user_id,
    )
    session.add(claim)
    session.flush()
    left = grams
    for batch_id, free in remaining.items():
        take = min(free, left)
        session.add(OffsetAllocation(claim_id=claim.id, batch_id=batch_id, retired_g=take))
        left -= take
        if not left:
            break
    session.flush()
    audit.record(
        session, actor, "offset.claim", "offset_claim", claim.id,
        {"serial": claim.serial, "event_name": name, "claimed_g": grams},
    )  # fmt: skip
    return claim


def claim_by_serial(session: Session, serial: str) -> OffsetClaim:
    claim = session.scalar(sa.select(OffsetClaim).where(OffsetClaim.serial == serial))
    if claim is None:
        raise NotFound("certificate")
    return claim


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineView:
    """One line as the bureau and verifiers inspect it, with its calculation and evidence."""

    reduction: Reduction
    activity: Activity | None
    pseudonym: str


def batch_lines(
    session: Session, batch_id: int, *, after: int | None, limit: int
) -> tuple[list[LineView], int | None]:
    """A page of the batch's lines in package order, and the cursor of the next page."""
    stmt = (
        sa.select(Reduction, Activity, ParticipantPseudonym.pseudonym)
        .select_from(
            sa.join(FilingLine, Reduction, Reduction.id == FilingLine.reduction_id)
            .join(
                ParticipantPseudonym,
                ParticipantPseudonym.participant_id == Reduction.participant_id,
            )
            .outerjoin(Activity, Activity.reduction_id == Reduction.id)
        )
        .where(FilingLine.batch_id == batch_id)
        .order_by(FilingLine.reduction_id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(FilingLine.reduction_id > after)
    rows = [LineView(*row) for row in session.execute(stmt)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].reduction.id if more and rows else None


def claims_of(session: Session, organisation_id: int) -> list[OffsetClaim]:
    return list(
        session.scalars(
            sa.select(OffsetClaim)
            .where(OffsetClaim.organisation_id == organisation_id)
            .order_by(OffsetClaim.id.desc())
        )
    )


def allocations_of(session: Session, claim_id: int) -> list[tuple[OffsetAllocation, FilingBatch]]:
    return [
        (allocation, batch)
        for allocation, batch in session.execute(
            sa.select(OffsetAllocation, FilingBatch)
            .join(FilingBatch, FilingBatch.id == OffsetAllocation.batch_id)
            .where(OffsetAllocation.claim_id == claim_id)
            .order_by(FilingBatch.id)
        )
    ]


def evidence_in_batch(session: Session, batch_id: int, evidence_id: int) -> EvidenceFile:
    """A self-report's receipt, for a verifier inspecting a batch that contains its reduction."""
    found = session.scalar(
        sa.select(EvidenceFile)
        .join(Activity, Activity.evidence_id == EvidenceFile.id)
        .join(FilingLine, FilingLine.reduction_id == Activity.reduction_id)
        .where(EvidenceFile.id == evidence_id, FilingLine.batch_id == batch_id)
    )
    if found is None:
        raise NotFound("evidence")
    return found
