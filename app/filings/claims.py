"""Retirements (注销): requested by verified organisations for a beneficiary and a purpose
(compliance offset, event neutrality such as 大型活动碳中和, voluntary cancellation), approved by
the bureau, which retires whole units of accepted batches (:mod:`app.filings.units`).

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
from app.filings import package, units
from app.filings.models import (
    ClaimStatus,
    FilingBatch,
    OffsetClaim,
    RetirementPurpose,
    UnitIssuance,
    UnitRange,
    UnitState,
)

_EVENT_NAME = re.compile(r"\S")
#: The longest event name and rejection reason.
EVENT_NAME_MAX = 128
BENEFICIARY_MAX = 128
REASON_MAX = 256


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """The city's limits on claims, as plain values from the configuration."""

    #: Grams CO2e one organisation may request per calendar year (requested and approved).
    yearly_cap_g: int
    #: The city's time zone, in which the year is counted.
    tz: ZoneInfo


def parse_tonnes(text: str) -> int:
    """Whole tonnes CO2e as typed (units are whole tonnes) to grams."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value <= 0 or value != value.to_integral_value():
        raise DomainError(
            "invalid_tonnes", _l("Enter whole tonnes greater than zero."), field="tonnes"
        )
    return int(value) * units.GRAMS_PER_UNIT


def units_for(grams: int) -> int:
    """Units a claim retires: its grams in whole tonnes (claims made before units, which
    could name a fraction, round up to the next whole unit)."""
    return -(-grams // units.GRAMS_PER_UNIT)


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


def _check_beneficiary(beneficiary: str) -> str:
    name = (beneficiary or "").strip()
    if not _EVENT_NAME.search(name) or len(name) > BENEFICIARY_MAX:
        raise DomainError(
            "invalid_beneficiary",
            _l("Enter on whose behalf the tonnes are retired (up to 128 characters)."),
            field="beneficiary",
        )
    return name


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
    beneficiary: str,
    purpose: RetirementPurpose = RetirementPurpose.EVENT_NEUTRALITY,
) -> OffsetClaim:
    """A verified organisation asks to retire units; nothing is retired until approval.

    The organisation's row is locked first, so two requests at once cannot both pass its cap.
    """
    name = _check_event_name(event_name)
    beneficiary = _check_beneficiary(beneficiary)
    if grams <= 0 or grams % units.GRAMS_PER_UNIT:
        raise DomainError(
            "invalid_tonnes", _l("Enter whole tonnes greater than zero."), field="tonnes"
        )
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
        beneficiary=beneficiary,
        purpose=purpose,
    )
    session.add(claim)
    session.flush()
    audit.record(
        session, actor, "offset.requested", "offset_claim", claim.id,
        {"organisation_id": organisation_id, "event_name": name, "claimed_g": grams,
         "beneficiary": beneficiary, "purpose": purpose.value},
    )  # fmt: skip
    return claim


def _require_available(session: Session, grams: int) -> None:
    available = units.active_units(session)
    if units_for(grams) > available:
        raise Conflict(
            "exceeds_remaining",
            _l("Only %(tonnes)s t CO2e remain to be claimed.", tonnes=available),
            field="tonnes",
        )


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
    """Retire the claim's units, oldest batch and lowest serial first, and issue its certificate.

    Every batch with active units is locked first, so two approvals at once cannot both take the
    last units: the second waits, then sees what the first retired.
    """
    claim = _requested_claim(session, claim_id)
    spans = units.oldest_active(session, units_for(claim.claimed_g))
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
    session.flush()
    for span in spans:
        units.take(session, span, UnitState.RETIRED, claim_id=claim.id, now=claim.decided_at)
    audit.record(
        session, actor, "offset.approved", "offset_claim", claim.id,
        {"serial": claim.serial, "event_name": claim.event_name, "claimed_g": claim.claimed_g,
         "beneficiary": claim.beneficiary, "purpose": claim.purpose.value,
         "ranges": [[s.batch_id, s.first, s.last] for s in spans]},
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


def ranges_of(session: Session, claim_id: int) -> list[tuple[UnitRange, str, FilingBatch]]:
    """The ranges a retirement consumed, each with its serial and batch."""
    return [
        (row, units.serial(prefix, row.first_unit, row.last_unit), batch)
        for row, prefix, batch in session.execute(
            sa.select(UnitRange, UnitIssuance.prefix, FilingBatch)
            .join(UnitIssuance, UnitIssuance.batch_id == UnitRange.batch_id)
            .join(FilingBatch, FilingBatch.id == UnitRange.batch_id)
            .where(UnitRange.claim_id == claim_id)
            .order_by(UnitRange.batch_id, UnitRange.first_unit)
        )
    ]
