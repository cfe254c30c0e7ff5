"""Donating reductions (捐赠减排量) to a carbon-neutral event.

A resident or organisation gives some of their own verified reductions to an event with a public
certificate. Only free reductions can be given: verified, in no live filing batch (so in no unit
that could be sold or retired) and never given before. A donation takes whole reductions, oldest
first, as long as they fit in the amount asked for, and records exactly the grams it took; a
donation larger than the giver's free reductions is refused. A given reduction is never bundled
(:mod:`app.filings.bundling` skips it), so never sold, and its primary key in
``donated_reductions`` keeps it from being given twice. Donations queue behind bundling runs and
behind the giver's other donations, so neither can take the same reduction at the same time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import adapters, units
from app.accounts.models import User
from app.accounts.services import mask_mobile
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError
from app.filings.bundling import BUNDLING_LOCK, free_verified
from app.filings.models import ClaimStatus, DonatedReduction, Donation, OffsetClaim
from app.reductions.models import Reduction

#: Kilograms as typed: up to 3 decimals (whole grams), at most 10**9 kg. Checked before any
#: arithmetic, so no text can make Decimal overflow.
KILOGRAMS_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,3})?$"
_KILOGRAMS = re.compile(KILOGRAMS_PATTERN)
MAX_GRAMS = 10**12


def parse_kilograms(text: str) -> int:
    """Kilograms as typed (up to 3 decimals) to whole grams: the page's and the API's rule."""
    text = (text or "").strip()
    grams = int(Decimal(text) * 1000) if _KILOGRAMS.fullmatch(text) else 0
    if not 0 < grams <= MAX_GRAMS:
        raise DomainError(
            "invalid_grams",
            _l("Enter kilograms above zero, with at most 3 decimal places."),
            field="kilograms",
        )
    return grams


def free_grams(session: Session, donor_id: int) -> int:
    """Grams of the participant's reductions that may still be given."""
    total = session.scalar(
        sa.select(sa.func.sum(Reduction.reduction_g)).where(
            Reduction.id.in_(free_verified(Reduction.participant_id == donor_id))
        )
    )
    return int(total or 0)


def donate(
    session: Session, actor: Actor, *, donor_id: int, certificate: str, grams: int
) -> Donation:
    """Give whole free reductions, oldest first, up to ``grams``, to the event."""
    if grams <= 0:
        raise DomainError("invalid_grams", _l("Enter an amount above zero."), field="kilograms")
    claim = session.scalar(
        sa.select(OffsetClaim).where(
            OffsetClaim.serial == (certificate or "").strip(),
            OffsetClaim.status == ClaimStatus.APPROVED,
        )
    )
    if claim is None:
        raise DomainError(
            "unknown_certificate", _l("No event has this certificate number."),
            field="certificate", status=404,
        )  # fmt: skip
    adapters.of(session).queue_behind(session.connection(), BUNDLING_LOCK)
    session.execute(sa.select(User.id).where(User.id == donor_id).with_for_update())
    available = free_grams(session, donor_id)
    if grams > available:
        raise Conflict(
            "exceeds_free_reductions",
            _l(
                "You have %(kg)s of reductions free to give.",
                kg=units.kilograms(available, at_most=True),
            ),
            field="kilograms",
        )
    taken, left = [], grams
    for reduction_id, reduction_g in session.execute(
        sa.select(Reduction.id, Reduction.reduction_g)
        .where(Reduction.id.in_(free_verified(Reduction.participant_id == donor_id)))
        .order_by(Reduction.occurred_at, Reduction.id)
    ):
        if 0 < reduction_g <= left:
            taken.append((reduction_id, reduction_g))
            left -= reduction_g
    if not taken:
        raise Conflict(
            "no_reduction_fits",
            _l("Each of your free reductions is larger than that amount; give a little more."),
            field="kilograms",
        )
    donation = Donation(claim_id=claim.id, donor_id=donor_id, donated_g=sum(g for _r, g in taken))
    session.add(donation)
    session.flush()
    session.add_all(DonatedReduction(reduction_id=r, donation_id=donation.id) for r, _g in taken)
    session.flush()
    audit.record(
        session, actor, "donation.made", "donation", donation.id,
        {"certificate": claim.serial, "donated_g": donation.donated_g, "reductions": len(taken)},
    )  # fmt: skip
    return donation


@dataclass(frozen=True, slots=True)
class DonorLine:
    donor: str
    grams: int


def donors_of(session: Session, claim_id: int) -> list[DonorLine]:
    """The event's donations counted by donor, masked, most grams first."""
    rows = session.execute(
        sa.select(User.mobile, sa.func.sum(Donation.donated_g))
        .join(User, User.id == Donation.donor_id)
        .where(Donation.claim_id == claim_id)
        .group_by(User.id, User.mobile)
        .order_by(sa.func.sum(Donation.donated_g).desc(), User.id)
    ).all()
    return [DonorLine(mask_mobile(mobile), int(grams)) for mobile, grams in rows]


@dataclass(frozen=True, slots=True)
class GivenLine:
    """One of the giver's donations, with the event it went to."""

    id: int
    certificate: str
    event_name: str
    event_date: date
    donated_g: int
    reductions: int
    created_at: datetime


def _given_lines() -> sa.Select[Any]:
    reductions = (
        sa.select(sa.func.count())
        .where(DonatedReduction.donation_id == Donation.id)
        .scalar_subquery()
    )
    return sa.select(
        Donation.id, OffsetClaim.serial, OffsetClaim.event_name, OffsetClaim.event_date,
        Donation.donated_g, reductions, Donation.created_at,
    ).join(OffsetClaim, OffsetClaim.id == Donation.claim_id)  # fmt: skip


def donations_by(
    session: Session, donor_id: int, *, before: int | None = None, limit: int = 50
) -> list[GivenLine]:
    """The giver's donations, newest first, ``limit`` of them before the donation ``before``."""
    stmt = _given_lines().where(Donation.donor_id == donor_id)
    if before is not None:
        stmt = stmt.where(Donation.id < before)
    rows = session.execute(stmt.order_by(Donation.id.desc()).limit(limit))
    return [GivenLine(*row) for row in rows]


def given(session: Session, donation_id: int) -> GivenLine:
    """One donation with its event."""
    return GivenLine(*session.execute(_given_lines().where(Donation.id == donation_id)).one())
