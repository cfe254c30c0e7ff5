"""Storing reductions from applied methodologies, and recomputing them from what is stored.

``record_reduction`` stores one; ``reduction_row`` gives the same row as a dict for a Core bulk
insert (``session.execute(sa.insert(Reduction), rows)``) on hot paths. ``Recomputation`` streams
every stored reduction and recomputes it with its version's stored parameters: the proof of
invariant 3 (a reduction is recomputable to the gram).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from app import clock
from app.errors import DomainError
from app.methodology.apply import Applied, PreparedVersion, prepare
from app.methodology.models import MethodologyVersion
from app.methodology.services import Plugins
from app.reductions.models import Reduction, ReductionStatus
from methodologies.base import Finding, QuantificationError


def reduction_row(
    participant_id: int,
    applied: Applied,
    status: ReductionStatus,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The ``reductions`` row of an applied activity, for an ORM object or a bulk insert.

    Refuses an activity that could not be quantified (``not_quantifiable``); a rejected one (a
    "reject" finding) may only be stored as rejected.
    """
    result = applied.quantification
    if result is None:
        raise DomainError(
            "not_quantifiable",
            _l(
                "There is nothing to credit in this activity: %(reasons)s.",
                reasons="; ".join(finding.code for finding in applied.findings),
            ),
            details={"findings": [finding.code for finding in applied.findings]},
        )
    if applied.rejected and status != ReductionStatus.REJECTED:
        raise ValueError(
            f"{applied.label} rejected the activity "
            f"({', '.join(f.code for f in applied.findings)}); store it as rejected"
        )
    now = now or clock.now()
    return {
        "participant_id": participant_id,
        "methodology_version_id": applied.version_id,
        "activity_kind": applied.activity_kind,
        "occurred_at": applied.occurred_at,
        "self_reported": applied.self_reported,
        "quantities": applied.quantities,
        "baseline_g": result.baseline_g,
        "project_g": result.project_g,
        "reduction_g": result.reduction_g,
        "capped": result.capped,
        "trace": None if result.trace is None else {"zh": result.trace.zh, "en": result.trace.en},
        "findings": [finding_json(finding) for finding in applied.findings],
        "status": status,
        "created_at": now,
        "verified_at": now if status == ReductionStatus.VERIFIED else None,
    }


def record_reduction(
    session: Session, participant_id: int, applied: Applied, status: ReductionStatus
) -> Reduction:
    """Store one applied activity as a reduction (flushes, so the id is known)."""
    reduction = Reduction(**reduction_row(participant_id, applied, status))
    session.add(reduction)
    session.flush()
    return reduction


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": {"zh": finding.message.zh, "en": finding.message.en},
    }


# --- recomputing --------------------------------------------------------------------------------

_FIGURES = ("baseline_g", "project_g", "reduction_g", "capped")


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A stored reduction its inputs and version do not reproduce, or cannot be recomputed."""

    reduction_id: int
    version: str
    stored: dict[str, Any]
    recomputed: dict[str, Any] | None
    problem: str | None = None


class Recomputation:
    """Recompute every stored reduction; iterate for the mismatches, ``checked`` counts rows.

    Rows are streamed ``batch_size`` at a time in id order (a server-side cursor on
    PostgreSQL); versions are loaded once. ``on_progress(checked)`` is called every
    ``progress_every`` rows.
    """

    def __init__(
        self,
        session: Session,
        plugins: Plugins,
        *,
        batch_size: int = 1000,
        progress_every: int = 10_000,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self._session = session
        self._plugins = plugins
        self._batch_size = batch_size
        self._progress_every = progress_every
        self._on_progress = on_progress
        self.checked = 0
        self.mismatches = 0

    def __iter__(self) -> Iterator[Mismatch]:
        versions = {
            version.id: version for version in self._session.scalars(sa.select(MethodologyVersion))
        }
        prepared: dict[int, PreparedVersion | str] = {}
        stmt = (
            sa.select(
                Reduction.id,
                Reduction.methodology_version_id,
                Reduction.occurred_at,
                Reduction.self_reported,
                Reduction.quantities,
                Reduction.baseline_g,
                Reduction.project_g,
                Reduction.reduction_g,
                Reduction.capped,
            )
            .order_by(Reduction.id)
            .execution_options(yield_per=self._batch_size)
        )
        for row in self._session.execute(stmt):
            self.checked += 1
            if self._on_progress and self.checked % self._progress_every == 0:
                self._on_progress(self.checked)
            version = versions[row.methodology_version_id]
            if version.id not in prepared:
                prepared[version.id] = self._prepare(version)
            mismatch = _recompute(row, version, prepared[version.id])
            if mismatch is not None:
                self.mismatches += 1
                yield mismatch

    def _prepare(self, version: MethodologyVersion) -> PreparedVersion | str:
        """The loaded version, or why its reductions cannot be recomputed here."""
        plugin = self._plugins.get(version.code)
        if plugin is None or plugin.version != version.plugin_version:
            installed = f"{plugin.code} {plugin.version}" if plugin else "nothing"
            return (
                f"plugin {version.code} {version.plugin_version} is not installed "
                f"(installed: {installed})"
            )
        try:
            return prepare(
                plugin,
                version_id=version.id,
                code=version.code,
                version=version.version,
                activity_kind=version.activity_kind,
                parameters=version.parameters,
            )
        except ValidationError as error:
            return f"stored parameters no longer load: {error.messages}"


def _recompute(
    row: Any, version: MethodologyVersion, prepared: PreparedVersion | str
) -> Mismatch | None:
    stored = {name: getattr(row, name) for name in _FIGURES}

    def mismatch(recomputed: dict[str, Any] | None, problem: str | None = None) -> Mismatch:
        return Mismatch(row.id, version.label, stored, recomputed, problem)

    if isinstance(prepared, str):
        return mismatch(None, prepared)
    if not _in_effect(version, row.occurred_at):
        return mismatch(None, f"{version.label} was not in effect at {row.occurred_at.isoformat()}")
    plugin = prepared.plugin
    try:
        activity = plugin.build_activity(
            row.quantities, row.occurred_at, self_reported=row.self_reported
        )
        result = plugin.quantify(activity, prepared.params)
    except ValidationError as error:
        return mismatch(None, f"stored quantities no longer load: {error.messages}")
    except QuantificationError as error:
        return mismatch(None, f"nothing to measure: {error.finding.code}")
    recomputed = {name: getattr(result, name) for name in _FIGURES}
    return None if recomputed == stored else mismatch(recomputed)


def _in_effect(version: MethodologyVersion, instant: datetime) -> bool:
    start, end = version.effective_from, version.effective_until
    return start is not None and start <= instant and (end is None or instant < end)
