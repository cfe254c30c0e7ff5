"""Points for verified reductions: each becomes the ledger's plain :class:`Earning` line.

An Earning carries the reduction's credited grams: what the methodology's caps let through
(``Reduction.credited_g``; all of it for a reduction credited before caps were recorded).

The ledger issues what it is given and knows nothing of reductions; this module reads the
reductions (with their methodology's code) in one query, refuses unknown or unverified ones, and
hands the lines to ``ledger.issue_points``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.errors import DomainError
from app.ledger import batch
from app.ledger.issuance import Earning, IssueResult, issue_points
from app.ledger.policy import LedgerPolicy
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction, ReductionStatus

reductions = Reduction.__table__
versions = MethodologyVersion.__table__


def issue_points_for(
    session: Session,
    reduction_ids: Iterable[int],
    *,
    policy: LedgerPolicy,
    now: datetime | None = None,
) -> IssueResult:
    """Issue points for verified reductions, each at most once, in the caller's transaction.

    Refuses the whole batch (nothing written) if a reduction is unknown or not verified.
    """
    ids = sorted(set(reduction_ids))
    if not ids:
        return IssueResult((), ())
    return issue_points(session, earnings(session, ids, policy.zone), policy=policy, now=now)


def earnings(session: Session, ids: list[int], zone: ZoneInfo) -> list[Earning]:
    """The ledger's lines for these verified reductions, their days counted in ``zone``."""
    session.flush()  # reductions the caller added in this session must be visible to SQL
    conn = session.connection()
    verified = reductions.c.status == ReductionStatus.VERIFIED
    rows = conn.execute(
        sa.select(
            reductions.c.id,
            reductions.c.participant_id,
            sa.func.coalesce(reductions.c.credited_g, reductions.c.reduction_g),
            reductions.c.occurred_at,
            verified.label("verified"),
            versions.c.code,
        )
        .join(versions, versions.c.id == reductions.c.methodology_version_id)
        .where(batch.id_list_filter(conn, reductions.c.id, ids))
    ).all()
    missing = set(ids) - {row.id for row in rows}
    if missing:
        raise DomainError(
            "reduction_not_found",
            _l("Unknown reductions: %(ids)s.", ids=", ".join(map(str, sorted(missing)[:20]))),
            status=404,
        )
    unverified = sorted(row.id for row in rows if not row.verified)
    if unverified:
        raise DomainError(
            "reduction_not_verified",
            _l(
                "Only verified reductions earn points; not verified: %(ids)s.",
                ids=", ".join(map(str, unverified[:20])),
            ),
        )
    return [
        Earning(id_, participant, grams, at, at.astimezone(zone).date(), code)
        for id_, participant, grams, at, _verified, code in rows
    ]
