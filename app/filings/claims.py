"""Carbon-neutral event claims (大型活动碳中和): requested by verified organisations, approved by
the bureau, retired from accepted batches.

A claim retires tonnes the city filed, and its certificate names the organisation publicly, so
nothing is retired on the organisation's word alone: the organisation must be verified (its
unified social credit code reviewed by the bureau), each organisation may request at most a
configured amount a year (requested and approved claims count), and only a bureau colleague's
approval retires tonnes and gives the claim its certificate. Every step is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Organisation, Verification
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound
from app.filings import package
from app.filings.models import (
    BatchStatus,
    ClaimStatus,
    FilingBatch,
    OffsetAllocation,
    OffsetClaim,
)

_EVENT_NAME = re.compile(r"\S")
#: The longest event name and rejection reason.
EVENT_NAME_MAX = 128
REASON_MAX = 256


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """The city's limits on claims, as plain values from the configuration."""

    #: Grams CO2e one organisation may request per calendar year (requested and approved).
    yearly_cap_g: int
    #: The city's time zone, in which the year is counted.
    tz: ZoneInfo


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


def _year_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    year = moment.astimezone(tz).year
    start = datetime.combine(date(year, 1, 1), time(), tz)
    return start, datetime.combine(date(year + 1, 1, 1), time(), tz)


def requested_this_year(session: Session, organisation_id: int, rules: ClaimRules) -> int:
    """Grams the organisation has requested this year in claims not rejected."""
    start, end = _year_bounds(clock.now(), rules.tz)
    return int(
        session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(OffsetClaim.claimed_g), 0)).where(
                OffsetClaim.organisation_id == organisation_id,
                OffsetClaim.status != ClaimStatus.REJECTED,
                OffsetClaim.created_at >= start,
                OffsetClaim.created_at < end,
            )
        )
    )


def _check_event_name(event_name: str) -> str:
    name = (event_name or "").strip()
    if not _EVENT_NAME.search(name) or len(name) > EVENT_NAME_MAX:
        raise DomainError(
            "invalid_event_name", _l("Enter the event's name (up to 128 characters)."),
            field="event_name",
        )  # fmt: skip
    return name


def request_claim(
    session: Session,
    actor: Actor,
    rules: ClaimRules,
    *,
    organisation_id: int,
    event_name: str,
    event_date: date,
    grams: int,
) -> OffsetClaim:
    """A verified organisation asks to offset an event; nothing is retired until approval.

    The organisation's row is locked first, so two requests at once cannot both pass its cap.
    """
    name = _check_event_name(event_name)
    if grams <= 0:
        raise DomainError("invalid_tonnes", _l("Enter tonnes greater than zero."), field="tonnes")
    organisation = session.scalar(
        sa.select(Organisation).where(Organisation.id == organisation_id).with_for_update()
    )
    if organisation is None:
        raise NotFound("organisation")
    if organisation.verification is not Verification.VERIFIED:
        raise DomainError(
            "organisation_not_verified",
            _l("The bureau has to verify your organisation's credit code before you can claim."),
            status=403,
        )
    already = requested_this_year(session, organisation_id, rules)
    if already + grams > rules.yearly_cap_g:
        raise DomainError(
            "exceeds_claim_cap",
            _l(
                "Your organisation may request %(cap)s t CO2e a year; %(left)s t remain.",
                cap=str(package.tonnes(rules.yearly_cap_g)),
                left=str(package.tonnes(max(rules.yearly_cap_g - already, 0))),
            ),
            field="tonnes",
            status=409,
        )
    _require_available(session, grams)
    claim = OffsetClaim(
        organisation_id=organisation_id,
        event_name=name,
        event_date=event_date,
        claimed_g=grams,
        claimed_by_id=actor.user_id,
        status=ClaimStatus.REQUESTED,
    )
    session.add(claim)
    session.flush()
    audit.record(
        session, actor, "offset.requested", "offset_claim", claim.id,
        {"organisation_id": organisation_id, "event_name": name, "claimed_g": grams},
    )  # fmt: skip
    return claim


def _require_available(session: Session, grams: int) -> dict[int, int]:
    remaining = remaining_by_batch(session)
    available = sum(remaining.values())
    if grams > available:
        raise Conflict(
            "exceeds_remaining",
            _l(
                "Only %(tonnes)s t CO2e remain to be claimed.",
                tonnes=str(package.tonnes(available)),
            ),
            field="tonnes",
        )
    return remaining


def _requested_claim(session: Session, claim_id: int) -> OffsetClaim:
    claim = session.scalar(
        sa.select(OffsetClaim).where(OffsetClaim.id == claim_id).with_for_update()
    )
    if claim is None:
        raise NotFound("claim")
    if claim.status is not ClaimStatus.REQUESTED:
        raise Conflict("already_decided", _l("This claim has already been decided."))
    return claim


def approve_claim(session: Session, actor: Actor, claim_id: int) -> OffsetClaim:
    """Retire the claim's grams from accepted batches, oldest first, and issue its certificate.

    The accepted batches are locked first, so two approvals at once cannot both take the last
    tonnes: the second waits, then sees what the first retired.
    """
    session.execute(
        sa.select(FilingBatch.id)
        .where(FilingBatch.status == BatchStatus.ACCEPTED)
        .order_by(FilingBatch.id)
        .with_for_update()
    ).all()
    claim = _requested_claim(session, claim_id)
    remaining = _require_available(session, claim.claimed_g)
    # Approvals queue on the locks above, so counting gives each its own certificate number.
    number = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(OffsetClaim)
            .where(OffsetClaim.serial.is_not(None))
        )
        + 1
    )
    claim.serial = f"CN-{claim.event_date.year}-{number:06d}"
    claim.status = ClaimStatus.APPROVED
    claim.decided_by_id = actor.user_id
    claim.decided_at = clock.now()
    left = claim.claimed_g
    for batch_id, free in remaining.items():
        take = min(free, left)
        session.add(OffsetAllocation(claim_id=claim.id, batch_id=batch_id, retired_g=take))
        left -= take
        if not left:
            break
    session.flush()
    audit.record(
        session, actor, "offset.approved", "offset_claim", claim.id,
        {"serial": claim.serial, "event_name": claim.event_name, "claimed_g": claim.claimed_g},
    )  # fmt: skip
    return claim


def reject_claim(session: Session, actor: Actor, claim_id: int, *, reason: str) -> OffsetClaim:
    """Refuse a requested claim, saying why; nothing is retired."""
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise DomainError(
            "invalid_reason", _l("Say why the claim is rejected (up to 256 characters)."),
            field="reason",
        )  # fmt: skip
    claim = _requested_claim(session, claim_id)
    claim.status = ClaimStatus.REJECTED
    claim.decided_by_id = actor.user_id
    claim.decided_at = clock.now()
    claim.rejection_reason = reason
    session.flush()
    audit.record(
        session, actor, "offset.rejected", "offset_claim", claim.id,
        {"event_name": claim.event_name, "claimed_g": claim.claimed_g, "reason": reason},
    )  # fmt: skip
    return claim


def claim_by_serial(session: Session, serial: str) -> OffsetClaim:
    """An approved claim by its certificate number; only approved claims have one."""
    claim = session.scalar(
        sa.select(OffsetClaim).where(
            OffsetClaim.serial == serial, OffsetClaim.status == ClaimStatus.APPROVED
        )
    )
    if claim is None:
        raise NotFound("certificate")
    return claim


def claims_of(session: Session, organisation_id: int) -> list[OffsetClaim]:
    return list(
        session.scalars(
            sa.select(OffsetClaim)
            .where(OffsetClaim.organisation_id == organisation_id)
            .order_by(OffsetClaim.id.desc())
        )
    )


def requested_claims(session: Session) -> list[tuple[OffsetClaim, Organisation]]:
    """The bureau's queue: claims waiting for a decision, oldest first, with their organisation."""
    return [
        (claim, organisation)
        for claim, organisation in session.execute(
            sa.select(OffsetClaim, Organisation)
            .join(Organisation, Organisation.id == OffsetClaim.organisation_id)
            .where(OffsetClaim.status == ClaimStatus.REQUESTED)
            .order_by(OffsetClaim.id)
        )
    ]


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
