"""Reading activities for people: a participant's own list, with grams and points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.activities.models import Activity, ActivitySource, ActivityStatus, EvidenceFile
from app.api.pagination import decode_id_cursor, encode_cursor
from app.errors import NotFound
from app.ledger.models import BudgetAction, BudgetRelease, Issuance
from app.reductions.models import Reduction


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """An activity with what it earned: grams of the reduction, grams credited after the
    methodology's caps, and points issued."""

    id: int
    kind: str
    reduction_id: int | None
    source: ActivitySource
    occurred_at: datetime
    status: ActivityStatus
    quantities: dict[str, Any]
    reasons: list[dict[str, Any]]
    review_note: str | None
    reduction_g: int | None
    credited_g: int | None  # after the methodology's caps
    cap: str | None  # the methodology's cap that held back reduction_g - credited_g
    points: int | None
    capped_points: int | None
    #: Points the city's monthly budget could not cover: deferred (``released`` of them issued
    #: since, from later months' budgets) or scaled away.
    budget_points: int | None
    budget_action: BudgetAction | None
    released_points: int | None
    participant_id: int | None
    partner_id: int | None
    external_id: str | None
    evidence_url: str | None
    evidence_id: int | None
    created_at: datetime

    @property
    def capped_g(self) -> int:
        """Grams of the reduction the methodology's cap held back."""
        if self.reduction_g is None or self.credited_g is None:
            return 0
        return self.reduction_g - self.credited_g


def _statement() -> sa.Select[Any]:
    released = (
        sa.select(sa.func.sum(BudgetRelease.points))
        .where(BudgetRelease.reduction_id == Issuance.reduction_id)
        .scalar_subquery()
    )
    return (
        sa.select(
            Activity,
            Reduction.reduction_g,
            Reduction.credited_g,
            Reduction.cap,
            Issuance.issued_points,
            Issuance.capped_points,
            Issuance.budget_points,
            Issuance.budget_action,
            sa.case((Issuance.budget_action == BudgetAction.DEFERRED, released), else_=None),
        )
        .outerjoin(Reduction, Reduction.id == Activity.reduction_id)
        .outerjoin(Issuance, Issuance.reduction_id == Activity.reduction_id)
    )


def _row(
    activity: Activity,
    grams: int | None,
    credited: int | None,
    cap: str | None,
    points: int | None,
    capped: int | None,
    held: int | None = None,
    action: BudgetAction | None = None,
    released: int | None = None,
) -> ActivityRow:
    if credited is None and activity.status == ActivityStatus.VERIFIED:
        credited = grams  # credited before the methodology's caps were enforced
    return ActivityRow(
        id=activity.id, kind=activity.kind, reduction_id=activity.reduction_id,
        source=activity.source,
        occurred_at=activity.occurred_at, status=activity.status,
        quantities=activity.quantities, reasons=activity.reasons,
        review_note=activity.review_note, reduction_g=grams, credited_g=credited,
        cap=cap, points=points,
        capped_points=capped, budget_points=held, budget_action=action,
        released_points=int(released or 0) if action == BudgetAction.DEFERRED else None,
        participant_id=activity.participant_id,
        partner_id=activity.partner_id, external_id=activity.external_id,
        evidence_url=activity.evidence_url, evidence_id=activity.evidence_id,
        created_at=activity.created_at,
    )  # fmt: skip


def rows_page(
    session: Session, stmt: sa.Select[Any], *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """One keyset page (newest first) of ``stmt``, an extension of :func:`_statement`."""
    if cursor:
        stmt = stmt.where(Activity.id < decode_id_cursor(cursor))
    rows = [
        _row(*row) for row in session.execute(stmt.order_by(Activity.id.desc()).limit(limit + 1))
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor([rows[-1].id]) if more and rows else None}


def participant_page(
    session: Session, participant_id: int, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The participant's own activities; nobody else's ever appear."""
    stmt = _statement().where(Activity.participant_id == participant_id)
    return rows_page(session, stmt, limit=limit, cursor=cursor)


def participant_activity(session: Session, participant_id: int, activity_id: int) -> ActivityRow:
    """One of the participant's own activities, with grams and points; NotFound for any other,
    whether it exists or not."""
    stmt = _statement().where(Activity.id == activity_id, Activity.participant_id == participant_id)
    found = session.execute(stmt).one_or_none()
    if found is None:
        raise NotFound("activity")
    return _row(*found)


def review_page(
    session: Session, queue: sa.Select[Any], *, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The review queue's filtered statement, with grams and points."""
    ids = queue.with_only_columns(Activity.id).scalar_subquery()
    stmt = _statement().where(Activity.id.in_(ids))
    return rows_page(session, stmt, limit=limit, cursor=cursor)


def image_evidence(session: Session, evidence_ids: list[int]) -> set[int]:
    """Which of these evidence files are pictures, to show as thumbnails (PDFs get a link)."""
    if not evidence_ids:
        return set()
    stmt = sa.select(EvidenceFile.id).where(
        EvidenceFile.id.in_(evidence_ids), EvidenceFile.content_type.startswith("image/")
    )
    return set(session.scalars(stmt))


def evidence_for(
    session: Session, evidence_id: int, *, viewer_id: int, reviewer: bool
) -> EvidenceFile:
    """An evidence file, for its owner or a reviewer only (others get 404: it does not exist)."""
    evidence = session.get(EvidenceFile, evidence_id)
    if evidence is None or (evidence.owner_id != viewer_id and not reviewer):
        raise NotFound("evidence")
    return evidence


def activity_with_reduction(
    session: Session, activity_id: int
) -> tuple[Activity, Reduction | None]:
    """One activity and the reduction it earned, if any; NotFound if there is no such activity."""
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound("activity")
    reduction = session.get(Reduction, activity.reduction_id) if activity.reduction_id else None
    return activity, reduction
