"""Leases: at most one process runs a given job, and at most one process is the scheduler.

A lease is a row per name, taken by a conditional UPDATE that only matches while it is free,
expired, or held by a process on this host that no longer exists. Each call runs in the caller's
short transaction, which commits at once, so the row tells everyone else who holds it.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters
from app.jobs.models import JobLease

#: This process as a lease holder: host, process id and a random part (a reused pid differs).
HOLDER = f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire(session: Session, name: str, holder: str, *, now: datetime, ttl: float) -> bool:
    """Take the lease ``name`` for ``ttl`` seconds; False while someone else holds it."""
    _ensure_row(session, name)
    expires = now + timedelta(seconds=ttl)
    taken = session.execute(
        sa.update(JobLease)
        .where(
            JobLease.name == name,
            sa.or_(
                JobLease.holder.is_(None), JobLease.expires_at <= now, JobLease.holder == holder
            ),
        )
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        return True
    current = session.scalar(sa.select(JobLease.holder).where(JobLease.name == name))
    if current is None or not holder_is_gone(current):
        return False
    return bool(
        session.execute(
            sa.update(JobLease)
            .where(JobLease.name == name, JobLease.holder == current)
            .values(holder=holder, expires_at=expires)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def renew(session: Session, name: str, holder: str, *, now: datetime, ttl: float) -> bool:
    """Extend a lease this holder has; False if it was lost (expired and taken by another)."""
    return bool(
        session.execute(
            sa.update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(expires_at=now + timedelta(seconds=ttl))
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def release(session: Session, name: str, holder: str) -> None:
    session.execute(
        sa.update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder)
        .values(holder=None, expires_at=None)
        .execution_options(synchronize_session=False)
    )


def holder_is_gone(holder: str) -> bool:
    """True for a holder on this host whose process has ended (killed, crashed)."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname()[:80] or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _ensure_row(session: Session, name: str) -> None:
    session.execute(
        adapters.of(session).insert(JobLease).values(name=name).on_conflict_do_nothing()
    )
