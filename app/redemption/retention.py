"""Retention of QR tokens: a token nobody used is forgotten a while after it expired.

A resident's QR page issues a fresh token every minute, so most tokens are never scanned and
mean nothing once expired. Every token that is part of the record stays for good:

- a redeemed one: the redemption's id *is* its token's id (a foreign key), and the merchant's
  settlement and the resident's history read the redemption;
- a refused one: the reason is the token's ``outcome``, set with ``burned_by_id`` by the scan;
- a replayed one: the attempts are the token's ``replays`` count, and the resident's page shows
  them; a replay can hit a token that was never scanned (one retired when its code was drawn
  again), so ``replays`` is checked apart from ``burned_by_id``.

Once an unused token is gone, its signed QR names no row and is answered as an invalid code
instead of an expired one: nobody shows a QR code that expired a day before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.redemption.models import Redemption, RedemptionToken

_tokens = RedemptionToken.__table__
_redemptions = Redemption.__table__


def _unused_before(table: sa.FromClause, cutoff: datetime) -> sa.ColumnElement[bool]:
    """Expired before ``cutoff`` and never used: the predicate of the purge's partial index."""
    return sa.and_(
        table.c.burned_by_id.is_(None),
        table.c.replays == sa.literal_column("0"),
        table.c.expires_at < cutoff,
    )


def purge_expired_tokens(
    session: Session, *, now: datetime, retention: timedelta, limit: int
) -> int:
    """Delete up to ``limit`` unused tokens that expired more than ``retention`` ago; how many.

    One statement per call; the caller commits and calls again while it gets ``limit`` back.
    The outer condition repeats the inner one so that on PostgreSQL a token a merchant scans
    while the chunk is chosen is checked again on its new version, and kept.
    """
    cutoff = now - retention
    candidate = _tokens.alias("candidate")
    chunk = (
        sa.select(candidate.c.id)
        .where(
            _unused_before(candidate, cutoff),
            ~sa.exists().where(_redemptions.c.id == candidate.c.id),
        )
        .order_by(candidate.c.expires_at)
        .limit(limit)
    )
    deleted = session.execute(
        _tokens.delete().where(_tokens.c.id.in_(chunk), _unused_before(_tokens, cutoff))
    )
    return deleted.rowcount or 0
