"""A webhook-id is answered once: a reused id gets the first answer back, unchanged.

The id is claimed before the batch is processed (``INSERT … ON CONFLICT DO NOTHING``). Two
requests racing with one id therefore queue on the unique index: the second waits until the first
commits and then reads its answer. A request that fails (4xx) rolls its claim back with everything
else, so a corrected retry with the same id is processed afresh. Answered ids are purged after a
retention period (:func:`purge_answered`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters, clock
from app.activities.models import PartnerMessage


def claim(session: Session, partner_id: int, message_id: str) -> int | None:
    """Claim ``message_id`` for this request: its row id, or None if it was answered before."""
    stmt = (
        adapters.of(session)
        .insert(PartnerMessage)
        .values(partner_id=partner_id, message_id=message_id, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["partner_id", "message_id"])
        .returning(PartnerMessage.id)
    )
    return session.scalar(stmt)


def first_answer(session: Session, partner_id: int, message_id: str) -> tuple[int, str]:
    row = session.execute(
        sa.select(PartnerMessage.status_code, PartnerMessage.response_body).where(
            PartnerMessage.partner_id == partner_id, PartnerMessage.message_id == message_id
        )
    ).one()
    return row[0], row[1]


def record_answer(session: Session, claim_id: int, status_code: int, body: str) -> None:
    session.execute(
        sa.update(PartnerMessage)
        .where(PartnerMessage.id == claim_id)
        .values(status_code=status_code, response_body=body)
    )


def purge_answered(session: Session, *, now: datetime, retention: timedelta, limit: int) -> int:
    """Delete up to ``limit`` message ids answered more than ``retention`` ago; how many.

    A request whose webhook-timestamp is more than 300 s from the server's clock is refused
    before its id is looked up, so a captured request replayed later is refused whatever this
    table holds; the ids serve honest retries, which come within minutes or hours. A retention
    of days (30 by default) therefore loses nothing; and a partner retrying an id after it was
    purged still credits nothing twice, since each (partner, external id) is ingested once: it
    only gets a fresh answer, with its activities reported as duplicates.

    One statement per call; the caller commits and calls again while it gets ``limit`` back.
    """
    messages = PartnerMessage.__table__
    old = messages.alias("old")
    chunk = (
        sa.select(old.c.id)
        .where(old.c.created_at < now - retention)
        .order_by(old.c.created_at)
        .limit(limit)
    )
    return session.execute(messages.delete().where(messages.c.id.in_(chunk))).rowcount or 0
