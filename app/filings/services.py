"""Filing rules after bundling: the four-eyes workflow, immutability of filed batches, reading.

A batch is approved by two different bureau colleagues, recorded as submitted with the
registry's reference, then accepted or rejected (rejection frees its reductions for a later
batch). Once filed, the ORM refuses any change to what the batch says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts.approvals import Independence, RefusedDecision, related_recently
from app.accounts.models import User
from app.activities.models import Activity, EvidenceFile
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound
from app.filings import units
from app.filings.models import (
    FILED,
    BatchStatus,
    ClaimStatus,
    FilingBatch,
    FilingLine,
    OffsetClaim,
    ParticipantPseudonym,
    UnitIssuance,
    UnitRange,
    UnitSale,
    UnitState,
)
from app.flush import before_flush
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction
from app.reductions.traces import Methodologies, Stored, Tracer
from methodologies.text import Text

_BATCH_CONTENT = (
    "serial", "period_start", "period_end", "timezone", "methodology_version_id",
    "methodology_code", "methodology_version", "plugin_version", "parameters", "activities",
    "participants", "total_g", "manifest", "summary_html", "root_hash", "created_by_id",
)  # fmt: skip
_DECISION = {"status", "decided_by_id", "decided_at", "rejection_reason"}
_CLAIM_DECISION = _DECISION | {"serial"}


# -- workflow -------------------------------------------------------------------------------------


def get_batch(session: Session, batch_id: int, *, lock: bool = False) -> FilingBatch:
    stmt = sa.select(FilingBatch).where(FilingBatch.id == batch_id)
    batch = session.scalar(stmt.with_for_update() if lock else stmt)
    if batch is None:
        raise NotFound("filing_batch")
    return batch


def batch_by_serial(session: Session, serial: str) -> FilingBatch:
    batch = session.scalar(sa.select(FilingBatch).where(FilingBatch.serial == serial))
    if batch is None:
        raise NotFound("filing_batch")
    return batch


def _require_status(batch: FilingBatch, *allowed: BatchStatus) -> None:
    if batch.status not in allowed:
        raise Conflict(
            "batch_status",
            _l("This batch is %(status)s; that cannot be done now.", status=batch.status.value),
        )


APPROVAL_REFUSALS = {
    "own_batch": _l("You bundled this batch; two other bureau colleagues must approve it."),
    "already_approved": _l(
        "You have approved this batch already; a different colleague gives the second."
    ),
    "not_independent": _l(
        "You created the account of the colleague who bundled or first approved this batch, or "
        "it created yours, too recently: another bureau colleague must approve it."
    ),
}


def approval_refusal(
    session: Session, user_id: int | None, batch: FilingBatch, independence: Independence | None
) -> str | None:
    """Why this person may not approve the draft (a reason code), or None if they may.

    The same rule as every other four-eyes step: neither the one who bundled it nor the first
    approver, nor an account either of them created (or that created theirs) within the
    independence period."""
    if user_id is None:
        return None
    if user_id == batch.created_by_id:
        return "own_batch"
    if user_id == batch.first_approved_by_id:
        return "already_approved"
    if independence is None:
        return None
    decider = session.get_one(User, user_id)
    others = (batch.created_by_id, batch.first_approved_by_id)
    for other in (session.get(User, other_id) for other_id in others if other_id is not None):
        if other is not None and related_recently(decider, other, independence):
            return "not_independent"
    return None


def approve(
    session: Session, actor: Actor, batch_id: int, *, independence: Independence | None = None
) -> FilingBatch:
    """One of the two approvals a draft needs, each by a different, independent bureau colleague
    (audited; a refused attempt is audited and kept too)."""
    batch = get_batch(session, batch_id, lock=True)
    _require_status(batch, BatchStatus.DRAFT)
    reason = approval_refusal(session, actor.user_id, batch, independence)
    if reason is not None:
        audit.record(
            session, actor, "filing.decision_refused", "filing_batch", batch.id,
            {"serial": batch.serial, "decision": "approve", "reason": reason},
        )  # fmt: skip
        raise RefusedDecision(reason, APPROVAL_REFUSALS[reason])
    now = clock.now()
    if batch.first_approved_by_id is None:
        batch.first_approved_by_id, batch.first_approved_at = actor.user_id, now
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


def accept(session: Session, actor: Actor, batch_id: int, *, city_code: str) -> FilingBatch:
    """The registry accepted a submitted batch: its whole tonnes become serial-numbered units
    (:mod:`app.filings.units`) that may now be retired or sold (audited)."""
    batch = get_batch(session, batch_id, lock=True)
    _require_status(batch, BatchStatus.SUBMITTED)
    batch.status = BatchStatus.ACCEPTED
    batch.decided_by_id, batch.decided_at = actor.user_id, clock.now()
    session.flush()
    issuance = units.issue(session, batch, city_code)
    audit.record(
        session, actor, "filing.accept", "filing_batch", batch.id,
        {"serial": batch.serial, "units": issuance.units, "remainder_g": issuance.remainder_g,
         "prefix": issuance.prefix},
    )  # fmt: skip
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
        if isinstance(obj, FilingBatch | FilingLine | OffsetClaim | UnitIssuance | UnitRange):
            raise FiledBatchIsImmutable(f"{type(obj).__name__} rows are never deleted")
        if isinstance(obj, UnitSale):
            raise FiledBatchIsImmutable(f"{type(obj).__name__} rows are never deleted")
    for obj in session.dirty:
        if not session.is_modified(obj):
            continue
        if isinstance(obj, FilingLine | UnitIssuance):
            raise FiledBatchIsImmutable(f"{type(obj).__name__} rows never change")
        if isinstance(obj, UnitRange) and _old_value(sa.inspect(obj), "state") != UnitState.ACTIVE:
            raise FiledBatchIsImmutable(f"units of range {obj.id} are no longer active")
        if isinstance(obj, OffsetClaim):
            _check_claim_change(obj)
        if isinstance(obj, FilingBatch):
            _check_batch_change(obj)


def _check_claim_change(claim: OffsetClaim) -> None:
    """A request is decided once; a decided claim (and its certificate) never changes."""
    state = sa.inspect(claim)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    if _old_value(state, "status") != ClaimStatus.REQUESTED or not changed <= _CLAIM_DECISION:
        raise FiledBatchIsImmutable(f"claim {claim.id} is decided and never changes")


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


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineView:
    """One line as the bureau and verifiers inspect it, with its calculation and evidence."""

    reduction: Reduction
    activity: Activity | None
    pseudonym: str
    trace: Text | None


def batch_lines(
    session: Session,
    batch_id: int,
    methodologies: Methodologies,
    *,
    after: int | None,
    limit: int,
) -> tuple[list[LineView], int | None]:
    """A page of the batch's lines in package order, each with its calculation (recomputed by its
    methodology version's plugin where ingestion stored none), and the cursor of the next page."""
    stmt = (
        sa.select(Reduction, Activity, ParticipantPseudonym.pseudonym, MethodologyVersion)
        .select_from(
            sa.join(FilingLine, Reduction, Reduction.id == FilingLine.reduction_id)
            .join(
                ParticipantPseudonym,
                ParticipantPseudonym.participant_id == Reduction.participant_id,
            )
            .join(MethodologyVersion, MethodologyVersion.id == Reduction.methodology_version_id)
            .outerjoin(Activity, Activity.reduction_id == Reduction.id)
        )
        .where(FilingLine.batch_id == batch_id)
        .order_by(FilingLine.reduction_id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(FilingLine.reduction_id > after)
    rows = session.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    tracer = Tracer(methodologies)
    lines = [
        LineView(reduction, activity, pseudonym, tracer.trace(_stored(reduction, version)))
        for reduction, activity, pseudonym, version in rows
    ]
    return lines, lines[-1].reduction.id if more and lines else None


def _stored(reduction: Reduction, version: MethodologyVersion) -> Stored:
    return Stored(
        reduction_id=reduction.id,
        trace=reduction.trace,
        code=version.code,
        plugin_version=version.plugin_version,
        version_id=version.id,
        parameters=version.parameters,
        quantities=reduction.quantities,
        occurred_at=reduction.occurred_at,
        self_reported=reduction.self_reported,
        reduction_g=reduction.reduction_g,
    )


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
