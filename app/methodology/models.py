"""Methodology versions as the bureau manages them: draft → submitted → approved (→ retired).

A version pairs one installed plugin (``code`` at software version ``plugin_version``) with one
parameter set the bureau reviewed. Its label ``version`` is the plugin version for the first
parameter set registered from that plugin version, and ``<plugin version>-p<N>`` for the N-th
(``1.0.0``, ``1.0.0-p2``, ``1.0.0-p3`` …): the label names both the code that computes and the
factors it used, and can never collide with a later plugin release (plugin versions have no "-").
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum
from app.flush import before_flush


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETIRED = "retired"


#: Statuses whose rows never change again, except the dates and marks that close them.
FROZEN_STATUSES = frozenset({VersionStatus.APPROVED, VersionStatus.RETIRED})
#: Statuses of a version that is being prepared (one per methodology at a time).
OPEN_STATUSES = frozenset({VersionStatus.DRAFT, VersionStatus.SUBMITTED})


def version_label(plugin_version: str, revision: int) -> str:
    """The label of the ``revision``-th parameter set registered from ``plugin_version``."""
    return plugin_version if revision == 1 else f"{plugin_version}-p{revision}"


class MethodologyVersion(Base):
    """One version of one methodology, with the parameters the bureau approved for it.

    Once approved, ``parameters`` never change: a new factor means a new version. Reductions keep
    a reference to the version that computed them, so they can be recomputed exactly. The
    approved and retired versions of one code cover disjoint intervals
    [``effective_from``, ``effective_until``), so at most one is in effect at any instant.
    """

    __tablename__ = "methodology_versions"
    __table_args__ = (
        sa.UniqueConstraint("code", "version"),
        sa.UniqueConstraint("code", "plugin_version", "revision"),
        sa.CheckConstraint("revision >= 1", name="revision_positive"),
        sa.CheckConstraint(
            "status = 'draft' OR (submitted_by_id IS NOT NULL AND submitted_at IS NOT NULL)",
            name="submitted_has_submitter",
        ),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'retired') OR "
            "(effective_from IS NOT NULL AND decided_by_id IS NOT NULL)",
            name="approved_has_date_and_approver",
        ),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR submitted_by_id IS NULL OR decided_by_id <> submitted_by_id",
            name="four_eyes",
        ),
        sa.CheckConstraint(
            "effective_until IS NULL OR (effective_from IS NOT NULL "
            "AND effective_until >= effective_from)",
            name="interval_ordered",
        ),
        sa.CheckConstraint(
            "status <> 'retired' OR retired_at IS NOT NULL", name="retired_has_date"
        ),
        sa.Index("ix_methodology_versions_code_status", "code", "status"),
        # Database guards of two service rules, so even a racing writer cannot break them.
        sa.Index(
            "uq_methodology_versions_one_open_ended",
            "code",
            unique=True,
            sqlite_where=sa.text("status = 'approved' AND effective_until IS NULL"),
            postgresql_where=sa.text("status = 'approved' AND effective_until IS NULL"),
        ),
        sa.Index(
            "uq_methodology_versions_one_in_preparation",
            "code",
            unique=True,
            sqlite_where=sa.text("status IN ('draft', 'submitted')"),
            postgresql_where=sa.text("status IN ('draft', 'submitted')"),
        ),
        {"comment": "Bureau-managed versions of the methodology plugins"},
    )

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(64), comment="Plugin code, e.g. bus")
    version: Mapped[str] = mapped_column(
        sa.String(48), comment="Label: plugin version, plus -pN for the N-th parameter set"
    )
    plugin_version: Mapped[str] = mapped_column(
        sa.String(32), comment="Software version of the plugin that computes, e.g. 1.0.0"
    )
    revision: Mapped[int] = mapped_column(
        comment="Number of this parameter set among those registered from plugin_version"
    )
    activity_kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus, "version_status"), default=VersionStatus.DRAFT
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(
        comment="Parameter values as JSON (decimals as strings); frozen once approved"
    )
    parameter_notes: Mapped[dict[str, Any]] = mapped_column(
        default=dict,
        comment="Per-parameter note on the source of a value that differs from the default",
    )
    effective_from: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="From this instant the version credits activities"
    )
    effective_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Set when superseded or retired (exclusive); empty while open-ended"
    )
    created_at: Mapped[created_at]
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="Who registered it; empty for the system"
    )
    submitted_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="The admin who approved or rejected it"
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str | None] = mapped_column(sa.Text)
    retired_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def label(self) -> str:
        """``code@version``, as reductions and filings cite it."""
        return f"{self.code}@{self.version}"


class ApprovedVersionIsImmutable(RuntimeError):
    """Code tried to change an approved or retired version beyond closing it."""


#: What may still change on an approved version: retiring it and ending its interval.
_CLOSING_ATTRIBUTES = frozenset({"status", "effective_until", "retired_at", "retired_by_id"})


@before_flush
def _refuse_changes_to_frozen_versions(session: Session, _context: Any, _instances: Any) -> None:
    """The ORM's half of immutability: the services refuse first, this catches any other path."""
    for obj in session.deleted:
        if isinstance(obj, MethodologyVersion) and _status_before(obj) in FROZEN_STATUSES:
            raise ApprovedVersionIsImmutable(f"{obj.label} is {obj.status} and cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, MethodologyVersion) and _status_before(obj) in FROZEN_STATUSES:
            _check_closing_only(obj)


def _status_before(version: MethodologyVersion) -> VersionStatus | None:
    history = sa.inspect(version).attrs.status.history
    return history.deleted[0] if history.deleted else version.status


def _check_closing_only(version: MethodologyVersion) -> None:
    state = sa.inspect(version)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    if changed - _CLOSING_ATTRIBUTES:
        raise ApprovedVersionIsImmutable(
            f"{version.label} is approved; {', '.join(sorted(changed - _CLOSING_ATTRIBUTES))} "
            "cannot change (a new factor means a new version)"
        )
    before = _status_before(version)
    if "status" in changed and not (
        before == VersionStatus.APPROVED and version.status == VersionStatus.RETIRED
    ):
        raise ApprovedVersionIsImmutable(
            f"{version.label} cannot go from {before} to {version.status}"
        )
    if "effective_until" in changed:
        previous = state.attrs.effective_until.history.deleted
        old = previous[0] if previous else None
        new = version.effective_until
        if new is None or (old is not None and new > old):
            raise ApprovedVersionIsImmutable(f"{version.label}'s interval can only be shortened")


class PreviewStatus(enum.StrEnum):
    QUEUED = "queued"  # waits for the previews job
    RUNNING = "running"  # being computed; ``processed`` of ``total`` done
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # ``error`` says why (plugin not installed, parameters invalid …)
    SUPERSEDED = "superseded"  # the draft changed and a new preview replaced this one


#: Statuses of a preview still being worked on (one per version at a time).
ACTIVE_PREVIEW_STATUSES = frozenset({PreviewStatus.QUEUED, PreviewStatus.RUNNING})
_ACTIVE_PREVIEW = sa.text("status IN ('queued', 'running')")


class MethodologyPreview(Base):
    """What a draft would have made of the last days' activities, beside the version in effect.

    Requested from the version's page or the API, computed by the ``methodology-previews`` job in
    committed chunks (``processed`` of ``total``, ``heartbeat_at`` at each), so any web worker
    shows its progress. Nothing else is written: no reduction, no ledger line.
    """

    __tablename__ = "methodology_previews"
    __table_args__ = (
        sa.CheckConstraint("processed >= 0 AND total >= 0", name="progress_not_negative"),
        sa.Index(
            "uq_methodology_previews_one_active",
            "version_id",
            unique=True,
            sqlite_where=_ACTIVE_PREVIEW,
            postgresql_where=_ACTIVE_PREVIEW,
        ),
        {"comment": "Impact previews of draft methodology versions, replayed on recent activities"},
    )

    id: Mapped[intpk]
    version_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("methodology_versions.id"), index=True, comment="The draft previewed"
    )
    status: Mapped[PreviewStatus] = mapped_column(
        str_enum(PreviewStatus, "preview_status"), default=PreviewStatus.QUEUED
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(
        comment="The draft's parameter values when the preview was requested"
    )
    window_from: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="Activities that occurred from this instant are replayed"
    )
    window_until: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="… until this instant (exclusive)"
    )
    requested_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    requested_at: Mapped[created_at]
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Last progress; a running preview silent too long is taken over"
    )
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed: Mapped[int] = mapped_column(default=0, comment="Activities replayed so far")
    total: Mapped[int] = mapped_column(default=0, comment="Activities to replay")
    result: Mapped[dict[str, Any] | None] = mapped_column(
        comment="Counts, grams and points per side and the largest differences (see preview)"
    )
    error: Mapped[dict[str, Any] | None] = mapped_column(
        comment="Why it failed: {code, label, errors}; empty unless failed"
    )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_PREVIEW_STATUSES
