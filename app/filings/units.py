"""Serial-numbered units (减排量单位) of accepted batches, and the one way their state changes.

Serial format. When a batch is accepted, each whole tonne CO2e of its total becomes a unit,
numbered 1 … N. A range of them is written

    <city>-<METHODOLOGY>-<yyyymm>-B<batch id, 6 digits>-<first, 7 digits>-<last, 7 digits>

for instance ``YC-BUS-202601-B000007-0000001-0000024``: the city's code, the methodology code,
the vintage (the batch's month), the batch's number, and the units. One unit is the same with
first = last, or with the last part left off (``YC-BUS-202601-B000007-0000005``). The grams below
the last whole tonne are no unit: they stay with the batch (its issuance's ``remainder_g``),
counted in the batch's total and never sold, retired or cancelled.

A unit is active until it is sold, retired or cancelled, and never changes again after that.
Every operation names ranges; taking part of an active range splits it. All of it happens under
the lock of the batches' issuance rows, taken in batch order, so two operations on the same units
run one after the other and the second sees what the first did.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound
from app.filings.models import FilingBatch, UnitIssuance, UnitRange, UnitState

GRAMS_PER_UNIT = 1_000_000
_SERIAL = re.compile(r"^(?P<prefix>.+-B\d{6,})-(?P<first>\d{7,})(?:-(?P<last>\d{7,}))?$")
_CODE = re.compile(r"[^A-Z0-9]+")


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """Units ``first`` … ``last`` (inclusive) of one batch."""

    batch_id: int
    first: int
    last: int

    @property
    def units(self) -> int:
        return self.last - self.first + 1


def prefix_for(city_code: str, batch: FilingBatch) -> str:
    methodology = _CODE.sub("_", batch.methodology_code.upper()).strip("_")
    return f"{city_code}-{methodology}-{batch.period_start:%Y%m}-B{batch.id:06d}"


def serial(prefix: str, first: int, last: int | None = None) -> str:
    """The serial of one unit, or of a range when ``last`` differs from ``first``."""
    if last is None or last == first:
        return f"{prefix}-{first:07d}"
    return f"{prefix}-{first:07d}-{last:07d}"


def issue(session: Session, batch: FilingBatch, city_code: str) -> UnitIssuance:
    """Give an accepted batch its units: one active range of every whole tonne."""
    units, remainder = divmod(batch.total_g, GRAMS_PER_UNIT)
    issuance = UnitIssuance(
        batch_id=batch.id, prefix=prefix_for(city_code, batch), units=units, remainder_g=remainder
    )
    session.add(issuance)
    session.flush()
    if units:
        session.add(
            UnitRange(
                batch_id=batch.id, first_unit=1, last_unit=units, state=UnitState.ACTIVE,
                changed_at=clock.now(),
            )
        )  # fmt: skip
        session.flush()
    return issuance


def _invalid_serial(field: str) -> DomainError:
    return DomainError(
        "invalid_serial",
        _l("Enter a unit serial such as YC-BUS-202601-B000007-0000001 (or a range of them)."),
        field=field,
    )


def parse(session: Session, text: str, *, field: str = "serial") -> Span:
    """A serial (one unit or a range) as typed, to the batch and units it names; a refusal
    names ``field``, where the serial was typed."""
    match = _SERIAL.match((text or "").strip().upper())
    if match is None:
        raise _invalid_serial(field)
    first = int(match["first"])
    last = int(match["last"]) if match["last"] else first
    if first < 1 or last < first:
        raise _invalid_serial(field)
    issuance = session.scalar(sa.select(UnitIssuance).where(UnitIssuance.prefix == match["prefix"]))
    if issuance is None:
        raise NotFound("unit")
    if last > issuance.units:
        raise Conflict(
            "exceeds_batch",
            _l("Batch %(prefix)s holds units 1 to %(units)s only.", prefix=issuance.prefix,
               units=issuance.units),
            field="ranges",
        )  # fmt: skip
    return Span(issuance.batch_id, first, last)


def lock_batches(session: Session, batch_ids: list[int]) -> dict[int, UnitIssuance]:
    """Lock the batches' issuance rows in batch order (one order for everyone: no deadlock)."""
    rows = session.scalars(
        sa.select(UnitIssuance)
        .where(UnitIssuance.batch_id.in_(sorted(set(batch_ids))))
        .order_by(UnitIssuance.batch_id)
        .with_for_update()
    ).all()
    return {row.batch_id: row for row in rows}


def require_disjoint(spans: list[Span]) -> list[Span]:
    """The spans in order, refused if two of them share a unit."""
    ordered = sorted(spans)
    for before, after in itertools.pairwise(ordered):
        if before.batch_id == after.batch_id and after.first <= before.last:
            raise DomainError(
                "overlapping_ranges", _l("Two of the ranges overlap."), field="ranges"
            )
    return ordered


def _active_range_holding(session: Session, span: Span) -> UnitRange:
    found = session.scalar(
        sa.select(UnitRange).where(
            UnitRange.batch_id == span.batch_id,
            UnitRange.state == UnitState.ACTIVE,
            UnitRange.first_unit <= span.first,
            UnitRange.last_unit >= span.last,
        )
    )
    if found is None:
        raise Conflict(
            "units_not_active",
            _l("Some of these units are not active: they were sold, retired or cancelled."),
            field="ranges",
        )
    return found


def check_active(session: Session, spans: list[Span]) -> None:
    """Refuse unless every unit of ``spans`` is active (the caller holds the batches' locks)."""
    for span in spans:
        _active_range_holding(session, span)


def take(
    session: Session,
    span: Span,
    state: UnitState,
    *,
    claim_id: int | None = None,
    sale_id: int | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> UnitRange:
    """Move the active units of ``span`` to ``state``, splitting the range that holds them.

    The caller holds the batch's issuance lock (:func:`lock_batches`).
    """
    holder = _active_range_holding(session, span)
    now = now or clock.now()
    if holder.last_unit > span.last:
        session.add(
            UnitRange(
                batch_id=span.batch_id, first_unit=span.last + 1, last_unit=holder.last_unit,
                state=UnitState.ACTIVE, changed_at=holder.changed_at,
            )
        )  # fmt: skip
    if holder.first_unit < span.first:
        holder.last_unit = span.first - 1
        taken = UnitRange(batch_id=span.batch_id, first_unit=span.first, last_unit=span.last)
        session.add(taken)
    else:
        taken = holder
        taken.last_unit = span.last
    taken.state, taken.claim_id, taken.sale_id, taken.note = state, claim_id, sale_id, note
    taken.changed_at = now
    session.flush()
    return taken


def oldest_active(session: Session, units: int) -> list[Span]:
    """The first ``units`` active units, oldest batch and lowest serial first, after locking
    every batch that has active units; refused when fewer are active."""
    batch_ids = session.scalars(
        sa.select(UnitRange.batch_id).where(UnitRange.state == UnitState.ACTIVE).distinct()
    ).all()
    lock_batches(session, list(batch_ids))
    spans: list[Span] = []
    left = units
    for row in session.scalars(
        sa.select(UnitRange)
        .where(UnitRange.state == UnitState.ACTIVE)
        .order_by(UnitRange.batch_id, UnitRange.first_unit)
    ):
        take_now = min(left, row.last_unit - row.first_unit + 1)
        spans.append(Span(row.batch_id, row.first_unit, row.first_unit + take_now - 1))
        left -= take_now
        if not left:
            return spans
    raise Conflict(
        "exceeds_remaining",
        _l("Only %(units)s t CO2e are active.", units=units - left),
        field="tonnes",
    )


def active_units(session: Session) -> int:
    """Units active across every accepted batch."""
    total = session.scalar(
        sa.select(sa.func.sum(UnitRange.last_unit - UnitRange.first_unit + 1)).where(
            UnitRange.state == UnitState.ACTIVE
        )
    )
    return int(total or 0)


def cancel(session: Session, actor: Actor, span: Span, note: str) -> UnitRange:
    """Cancel active units (a registry correction): they can never be sold or retired (audited)."""
    note = (note or "").strip()
    if not note or len(note) > 256:
        raise DomainError(
            "invalid_reason", _l("Say why the units are cancelled (up to 256 characters)."),
            field="reason",
        )  # fmt: skip
    if not lock_batches(session, [span.batch_id]):
        raise NotFound("unit")
    cancelled = take(session, span, UnitState.CANCELLED, note=note)
    audit.record(
        session, actor, "units.cancelled", "unit_range", cancelled.id,
        {"batch_id": span.batch_id, "first": span.first, "last": span.last, "reason": note},
    )  # fmt: skip
    return cancelled
