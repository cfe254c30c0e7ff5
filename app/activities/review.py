"""The review queue: flagged activities, the checks that fired, approve or reject (audited).

Approval runs the activity through the pipeline again as reviewed: its flags no longer hold it
back, but the rules that protect the ledger still apply, so a trip credited meanwhile from another
report is not credited twice (it is rejected with that reason instead), and a partner's record
whose consent was withdrawn meanwhile is not credited either. Each decision is one audit
entry in the same transaction as the change and the points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.activities import consents, pipeline, reasons
from app.activities.links import apply_outcomes
from app.activities.models import Activity, ActivitySource, ActivityStatus
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import DomainError
from app.reductions.models import Reduction, ReductionStatus

MAX_NOTE = 500


@dataclass(slots=True)
class Outcome:
    approved: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    not_credited: list[int] = field(default_factory=list)


def queue_statement(
    *,
    kind: str | None = None,
    reason: str | None = None,
    source: str | None = None,
    partner_id: int | None = None,
) -> sa.Select[Any]:
    """Flagged activities, filtered; the reason filter matches a check's code."""
    stmt = sa.select(Activity).where(Activity.status == ActivityStatus.FLAGGED)
    if kind:
        stmt = stmt.where(Activity.kind == kind)
    if source:
        stmt = stmt.where(Activity.source == ActivitySource(source))
    if partner_id:
        stmt = stmt.where(Activity.partner_id == partner_id)
    if reason:
        # Codes are identifiers, so a quoted substring match on the JSON text is exact enough.
        stmt = stmt.where(sa.cast(Activity.reasons, sa.Text).contains(f'"{reason}"'))
    return stmt


def check_choices(session: Session, *, sample: int = 2000) -> list[tuple[str, str]]:
    """The checks that fired on flagged activities (the newest ``sample`` of them), as
    (code, name) choices for the reviewer's filter, by name."""
    seen: dict[str, str] = {}
    stmt = (
        sa.select(Activity.reasons)
        .where(Activity.status == ActivityStatus.FLAGGED)
        .order_by(Activity.id.desc())
        .limit(sample)
    )
    for found in session.scalars(stmt):
        for reason in found or ():
            if reason.get("severity") != reasons.INFO and reason["code"] not in seen:
                seen[reason["code"]] = reasons.check_name(reason)
    return sorted(seen.items(), key=lambda choice: choice[1])


def decide(
    session: Session,
    actor: Actor,
    activity_ids: list[int],
    *,
    approve: bool,
    note: str,
    settings: pipeline.Settings,
) -> Outcome:
    """Approve (credit) or reject flagged activities; each decision is audited."""
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DomainError(
            "note_too_long", _l("At most %(n)s characters.", n=MAX_NOTE), field="note"
        )
    if not approve and not note:
        raise DomainError("note_required", _l("Say why, for the resident to read."), field="note")
    activities = list(
        session.scalars(
            sa.select(Activity)
            .where(
                Activity.id.in_(sorted(set(activity_ids))),
                Activity.status == ActivityStatus.FLAGGED,
            )
            .order_by(Activity.occurred_at)
            .with_for_update()
        )
    )
    if len(activities) != len(set(activity_ids)):
        raise DomainError(
            "not_in_queue",
            _l("Some of these activities are not waiting for review (decided already?)."),
            status=409,
        )
    outcome = Outcome()
    if approve:
        _approve(session, activities, note, actor, settings, outcome)
    else:
        _reject(session, activities, note, actor, settings, outcome)
    for activity in activities:
        audit.record(
            session, actor, "activity.review", "activity", activity.id,
            {"decision": "approve" if approve else "reject", "note": note,
             "status": activity.status.value, "kind": activity.kind},
        )  # fmt: skip
    return outcome


def _approve(
    session: Session,
    activities: list[Activity],
    note: str,
    actor: Actor,
    settings: pipeline.Settings,
    outcome: Outcome,
) -> None:
    reductions = {
        r.id: r
        for r in session.scalars(
            sa.select(Reduction).where(Reduction.id.in_([a.reduction_id for a in activities]))
        )
    }
    candidates = []
    for activity in activities:
        assert activity.participant_id is not None
        # The stored quantities are loaded by the version in effect at the activity's time.
        candidates.append(
            pipeline.Candidate(
                kind=activity.kind,
                occurred_at=activity.occurred_at,
                quantities=None,
                participant_id=activity.participant_id,
                self_reported=activity.source == ActivitySource.SELF_REPORT,
                activity_id=activity.id,
                ends_at=activity.ends_at,
                dumped=activity.quantities,
                partner_id=activity.partner_id,
            )
        )
    pipeline.decide(session, candidates, settings, reviewed=True)
    refused = consents.refused_on_review(session, activities, settings.plugins)
    for activity, candidate in zip(activities, candidates, strict=True):
        reduction = reductions.get(activity.reduction_id)  # type: ignore[arg-type]
        if activity.id in refused:
            candidate.reasons = [*candidate.reasons, reasons.platform("no_consent", reasons.REJECT)]
        if (
            candidate.status == ActivityStatus.VERIFIED
            and reduction is not None
            and activity.id not in refused
        ):
            # The pending reduction computed at ingestion becomes the credited one.
            candidate.reduction_id = reduction.id
            reduction.status = ReductionStatus.VERIFIED
            reduction.verified_at = settings.now
            reduction.credited_g = candidate.credited_g
            reduction.cap = candidate.cap
            outcome.approved.append(activity.id)
        else:
            if reduction is not None:
                reduction.status = ReductionStatus.REJECTED
            candidate.status = ActivityStatus.REJECTED
            candidate.fingerprint = None
            outcome.not_credited.append(activity.id)
    apply_outcomes(
        session, activities, candidates, settings,
        review={"reviewer_id": actor.user_id, "note": note or None},
    )  # fmt: skip


def _reject(
    session: Session,
    activities: list[Activity],
    note: str,
    actor: Actor,
    settings: pipeline.Settings,
    outcome: Outcome,
) -> None:
    reduction_ids = [a.reduction_id for a in activities if a.reduction_id is not None]
    if reduction_ids:
        session.execute(
            sa.update(Reduction)
            .where(Reduction.id.in_(reduction_ids))
            .values(status=ReductionStatus.REJECTED)
            .execution_options(synchronize_session=False)
        )
    for activity in activities:
        activity.status = ActivityStatus.REJECTED
        activity.reasons = [
            *activity.reasons,
            reasons.platform("reviewer_rejected", reasons.REJECT, note=note),
        ]
        activity.decided_at = settings.now
        activity.reviewed_by_id = actor.user_id
        activity.review_note = note
        outcome.rejected.append(activity.id)
    session.flush()
