"""One activity as its participant reads it: what, when, from whom, its status and reasons, the
calculation, the points, and what happened to it since (capped, reviewed, in a filing).

It reads activities, reductions, the ledger's issuance, methodology versions and filing lines, so
it sits above all of them with the pages that read many domains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.activities import queries
from app.activities.models import DataPartner
from app.filings.models import BatchStatus, FilingBatch, FilingLine
from app.ledger.models import Cap, Issuance
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction
from app.reductions.traces import Methodologies, Stored, Tracer
from methodologies.text import Text


@dataclass(frozen=True, slots=True)
class Filing:
    serial: str
    status: BatchStatus
    period_start: date


@dataclass(frozen=True, slots=True)
class ActivityDetail:
    row: queries.ActivityRow
    partner_name: str | None
    methodology_name: Text | None
    methodology_version: str | None
    trace: Text | None
    cap: Cap | None  # the wallet's cap that held points back
    filing: Filing | None


def activity_detail(
    session: Session, participant_id: int, activity_id: int, methodologies: Methodologies
) -> ActivityDetail:
    """The participant's own activity in full; NotFound for anyone else's, as for none."""
    row = queries.participant_activity(session, participant_id, activity_id)
    partner = session.get(DataPartner, row.partner_id) if row.partner_id else None
    reduction = session.get(Reduction, row.reduction_id) if row.reduction_id else None
    if reduction is None:
        return ActivityDetail(row, partner.name if partner else None, None, None, None, None, None)
    version = session.get(MethodologyVersion, reduction.methodology_version_id)
    assert version is not None  # a reduction's version is never deleted
    tracer = Tracer(methodologies)
    trace = tracer.trace(
        Stored(
            reduction.id,
            reduction.trace,
            version.code,
            version.plugin_version,
            version.id,
            version.parameters,
            reduction.quantities,
            reduction.occurred_at,
            reduction.self_reported,
            reduction.reduction_g,
        )
    )
    issuance = session.get(Issuance, reduction.id)
    filing = session.execute(
        sa.select(FilingBatch.serial, FilingBatch.status, FilingBatch.period_start)
        .join(FilingLine, FilingLine.batch_id == FilingBatch.id)
        .where(FilingLine.reduction_id == reduction.id, FilingLine.active)
    ).one_or_none()
    return ActivityDetail(
        row=row,
        partner_name=partner.name if partner else None,
        methodology_name=tracer.name(version.code),
        methodology_version=version.version,
        trace=trace,
        cap=issuance.cap if issuance else None,
        filing=Filing(*filing) if filing else None,
    )
