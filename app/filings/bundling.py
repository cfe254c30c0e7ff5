"""Bundling verified reductions into filing batches, and writing a batch's package.

Bundling is set-based (one INSERT … SELECT per batch) so a million reductions bundle in seconds,
and it runs inside the caller's transaction: a run that dies midway leaves nothing behind, and the
next run bundles the same reductions. The partial unique index on live filing lines is what makes
"a verified reduction is in at most one batch that is not rejected" hold whatever runs at once;
on PostgreSQL bundling runs also queue on a transaction-scoped advisory lock, so a second run
waits for the first and then finds nothing left to bundle instead of failing on that index.
A package is rebuilt from the database whenever it is downloaded, streamed in bounded memory,
and refused if its lines no longer hash to what the manifest recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters, clock
from app.activities.models import Activity
from app.audit import services as audit
from app.audit.services import SYSTEM, Actor
from app.errors import NotFound
from app.filings import package
from app.filings.models import (
    DonatedReduction,
    FilingBatch,
    FilingLine,
    ParticipantPseudonym,
)
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction, ReductionStatus

#: First key of the PostgreSQL advisory lock that queues bundling runs ("TPHB"); the second is
#: the schema's hash, so platforms sharing one database in schemas of their own never wait.
BUNDLING_LOCK = int.from_bytes(b"TPHB", "big") & 0x7FFF_FFFF


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


def _given_away() -> sa.Exists:
    """Donated reductions are never bundled (:mod:`app.filings.donations`)."""
    return (
        sa.select(DonatedReduction.reduction_id)
        .where(DonatedReduction.reduction_id == Reduction.id)
        .exists()
    )


def _in_live_batch() -> sa.Exists:
    return (
        sa.select(FilingLine.reduction_id)
        # "active = true" (not "IS TRUE") so the planner can use the partial unique index.
        .where(FilingLine.reduction_id == Reduction.id, FilingLine.active == sa.true())
        .exists()
    )


def free_verified(*conditions: Any) -> sa.Select[Any]:
    """Verified reductions in no live batch and never given away."""
    return sa.select(Reduction.id).where(
        Reduction.status == ReductionStatus.VERIFIED, ~_in_live_batch(), ~_given_away(), *conditions
    )


def _queue_behind_other_bundling_runs(session: Session) -> None:
    adapters.of(session).queue_behind(session.connection(), BUNDLING_LOCK)


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
        .where(Reduction.id.in_(free_verified(Reduction.occurred_at < cutoff)))
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


def newest_batch_id(session: Session) -> int:
    """The id of the newest filing batch (0: none yet), to tell a run's batches apart."""
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(FilingBatch.id), 0))) or 0


def serials_after(session: Session, batch_id: int) -> list[str]:
    """The serials of the batches made after ``batch_id``, oldest first."""
    return list(
        session.scalars(
            sa.select(FilingBatch.serial).where(FilingBatch.id > batch_id).order_by(FilingBatch.id)
        )
    )


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
    if not session.scalar(sa.select(free_verified(*in_window).exists())):
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
    session.execute(
        adapters.of(session)
        .insert(FilingLine)
        .from_select(
            ["batch_id", "reduction_id", "reduction_g", "active"],
            sa.select(
                sa.literal(batch.id, sa.BigInteger), Reduction.id, Reduction.reduction_g, sa.true()
            ).where(Reduction.status == ReductionStatus.VERIFIED, ~_given_away(), *in_window),
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
            adapters.of(connection).utc_iso_text(Reduction.occurred_at),
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
