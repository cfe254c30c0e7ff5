"""The public registry: every range of units with its state and holder, and a unit's history.

The holder of a retired range is its retirement's beneficiary, of a sold range its buyer; active
and cancelled units are held by the programme. A unit's history runs back to its batch: when the
batch was accepted, its registry reference and the root hash of its filing package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.errors import DomainError
from app.filings import units
from app.filings.models import (
    FilingBatch,
    OffsetClaim,
    RetirementPurpose,
    UnitIssuance,
    UnitRange,
    UnitSale,
    UnitState,
)

VINTAGE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


@dataclass(frozen=True, slots=True)
class Filters:
    state: UnitState | None = None
    vintage: date | None = None
    methodology: str | None = None
    holder: str | None = None
    purpose: RetirementPurpose | None = None


def parse_vintage(text: str | None) -> date | None:
    """``yyyy-mm`` as the first day of that month; empty is no filter."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError as error:
        raise DomainError(
            "invalid_vintage", _l("Enter the vintage as year and month, e.g. 2026-06."),
            field="vintage",
        ) from error  # fmt: skip


@dataclass(frozen=True, slots=True)
class RangeRow:
    id: int
    serial: str
    units: int
    state: UnitState
    batch_serial: str
    methodology_code: str
    vintage: date
    holder: str | None
    purpose: RetirementPurpose | None
    certificate: str | None
    sale_id: int | None
    changed_at: datetime
    note: str | None


_HOLDER = sa.case(
    (UnitRange.state == UnitState.RETIRED, OffsetClaim.beneficiary),
    (UnitRange.state == UnitState.SOLD, UnitSale.buyer),
    else_=sa.null(),
)


def ranges_query(filters: Filters) -> sa.Select[Any]:
    stmt = (
        sa.select(
            UnitRange.id,
            UnitIssuance.prefix,
            UnitRange.first_unit,
            UnitRange.last_unit,
            UnitRange.state,
            FilingBatch.serial,
            FilingBatch.methodology_code,
            FilingBatch.period_start,
            _HOLDER.label("holder"),
            OffsetClaim.purpose,
            OffsetClaim.serial.label("certificate"),
            UnitRange.sale_id,
            UnitRange.changed_at,
            UnitRange.note,
        )
        .join(UnitIssuance, UnitIssuance.batch_id == UnitRange.batch_id)
        .join(FilingBatch, FilingBatch.id == UnitRange.batch_id)
        .outerjoin(OffsetClaim, OffsetClaim.id == UnitRange.claim_id)
        .outerjoin(UnitSale, UnitSale.id == UnitRange.sale_id)
    )
    if filters.state is not None:
        stmt = stmt.where(UnitRange.state == filters.state)
    if filters.vintage is not None:
        stmt = stmt.where(FilingBatch.period_start == filters.vintage)
    if filters.methodology:
        stmt = stmt.where(FilingBatch.methodology_code == filters.methodology.strip().lower())
    if filters.holder:
        stmt = stmt.where(filters.holder.strip() == _HOLDER)
    if filters.purpose is not None:
        stmt = stmt.where(OffsetClaim.purpose == filters.purpose)
    return stmt


def to_row(raw: Any) -> RangeRow:
    (range_id, prefix, first, last, state, batch_serial, code, vintage, holder, purpose,
     certificate, sale_id, changed_at, note) = raw  # fmt: skip
    return RangeRow(
        range_id, units.serial(prefix, first, last), last - first + 1, state, batch_serial, code,
        vintage, holder, purpose, certificate, sale_id, changed_at, note,
    )  # fmt: skip


def ranges(
    session: Session, filters: Filters, *, after: int | None = None, limit: int = 100
) -> list[RangeRow]:
    """Ranges in serial order (batch, then first unit), a page at a time by range id."""
    stmt = ranges_query(filters).order_by(UnitRange.id).limit(limit)
    if after is not None:
        stmt = stmt.where(UnitRange.id > after)
    return [to_row(raw) for raw in session.execute(stmt)]


def totals(session: Session) -> dict[UnitState, int]:
    """Units in each state, across every batch."""
    rows = session.execute(
        sa.select(
            UnitRange.state, sa.func.sum(UnitRange.last_unit - UnitRange.first_unit + 1)
        ).group_by(UnitRange.state)
    ).all()
    counted = {state: int(total) for state, total in rows}
    return {state: counted.get(state, 0) for state in UnitState}


@dataclass(frozen=True, slots=True)
class UnitHistory:
    """What a serial names, and how each part of it came to its state."""

    searched: str
    batch: FilingBatch
    issuance: UnitIssuance
    parts: list[RangeRow]


def history(session: Session, text: str) -> UnitHistory:
    """The ranges holding the units a serial names, with their batch (its acceptance, registry
    reference and package root hash)."""
    span = units.parse(session, text)
    batch = session.get_one(FilingBatch, span.batch_id)
    issuance = session.get_one(UnitIssuance, span.batch_id)
    stmt = ranges_query(Filters()).where(
        UnitRange.batch_id == span.batch_id,
        UnitRange.first_unit <= span.last,
        UnitRange.last_unit >= span.first,
    )
    parts = [to_row(raw) for raw in session.execute(stmt.order_by(UnitRange.first_unit))]
    return UnitHistory(units.serial(issuance.prefix, span.first, span.last), batch, issuance, parts)
