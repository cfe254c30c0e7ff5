"""Wallet reminders: points that expire within 30 days, told once per expiry instant."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters
from app.jobs.models import ExpiryNotice
from app.ledger import services as ledger

REMIND_WITHIN = timedelta(days=30)


def remind_expiring(
    session: Session, *, now: datetime, after_wallet_id: int = 0, limit: int = 1000
) -> tuple[int, int | None]:
    """Write reminders for one page of wallets; returns how many were new and the next cursor."""
    page = ledger.expiring_soon(
        session, now=now, within=REMIND_WITHIN, after_wallet_id=after_wallet_id, limit=limit
    )
    if not page.items:
        return 0, page.next_after
    made = session.scalars(
        adapters.of(session)
        .insert(ExpiryNotice)
        .values(
            [
                {
                    "holder_id": item.holder_id,
                    "points": item.points,
                    "expires_at": item.first_expires_at,
                    "created_at": now,
                }
                for item in page.items
            ]
        )
        .on_conflict_do_nothing(index_elements=["holder_id", "expires_at"])
        .returning(ExpiryNotice.id)
    ).all()
    return len(made), page.next_after


def notices_for(session: Session, holder_id: int, *, now: datetime) -> list[ExpiryNotice]:
    """The holder's reminders whose points have not expired yet, soonest first."""
    return list(
        session.scalars(
            sa.select(ExpiryNotice)
            .where(ExpiryNotice.holder_id == holder_id, ExpiryNotice.expires_at > now)
            .order_by(ExpiryNotice.expires_at)
        )
    )
