"""Retention: personal data the platform no longer needs is deleted on a schedule.

Each kind has its period in configuration (docs/retention.md): evidence files of decided
self-reports, expired SMS codes, expired or revoked API tokens, and held activities nobody linked
(their window, ``HELD_ACTIVITY_DAYS``). The daily ``retention`` job calls :func:`enforce`, which
returns how many of each it removed; the job's run and an audit entry record those counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import ApiToken, OneTimeCode
from app.activities import evidence, links
from app.activities.models import Activity, ActivitySource, ActivityStatus, EvidenceFile
from app.audit import services as audit
from app.audit.services import SYSTEM


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each kind of personal data is kept, from the configuration."""

    evidence: timedelta  # after the self-report was decided
    codes: timedelta  # after the code expired
    tokens: timedelta  # after the token expired or was revoked
    evidence_dir: str


def _decided_evidence(session: Session, before: datetime, directory: str) -> int:
    """Evidence of self-reports decided before ``before`` (flagged ones wait for a reviewer)."""
    evidence_ids = list(
        session.scalars(
            sa.select(Activity.evidence_id).where(
                Activity.source == ActivitySource.SELF_REPORT,
                Activity.evidence_id.is_not(None),
                Activity.status != ActivityStatus.FLAGGED,
                Activity.decided_at < before,
            )
        )
    )
    if not evidence_ids:
        return 0
    session.execute(
        sa.update(Activity)
        .where(Activity.evidence_id.in_(evidence_ids))
        .values(evidence_id=None)
        .execution_options(synchronize_session=False)
    )
    digests = set(
        session.scalars(sa.select(EvidenceFile.sha256).where(EvidenceFile.id.in_(evidence_ids)))
    )
    session.execute(sa.delete(EvidenceFile).where(EvidenceFile.id.in_(evidence_ids)))
    still_used = set(
        session.scalars(sa.select(EvidenceFile.sha256).where(EvidenceFile.sha256.in_(digests)))
    )
    for digest in digests - still_used:
        evidence.path_for(directory, digest).unlink(missing_ok=True)
    return len(evidence_ids)


def enforce(session: Session, policy: RetentionPolicy, now: datetime) -> dict[str, int]:
    """Remove what has outlived its period; how many of each kind (audited when any)."""
    removed = {
        "evidence_files": _decided_evidence(session, now - policy.evidence, policy.evidence_dir),
        "codes": session.execute(
            sa.delete(OneTimeCode).where(OneTimeCode.expires_at < now - policy.codes)
        ).rowcount
        or 0,
        "api_tokens": session.execute(
            sa.delete(ApiToken).where(
                sa.or_(
                    ApiToken.expires_at < now - policy.tokens,
                    ApiToken.revoked_at < now - policy.tokens,
                )
            )
        ).rowcount
        or 0,
        "held_activities": links.purge_held(session, now),
    }
    if any(removed.values()):
        audit.record(session, SYSTEM, "retention.enforced", "retention", None, removed)
    return removed
