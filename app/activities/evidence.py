"""Self-report evidence: receipts as JPEG, PNG or PDF, kept on disk under their SHA-256.

The type is decided by the file's first bytes, never by its name or the browser's word. Files live
outside the database (``EVIDENCE_DIR``), written once under their hash, so the same receipt sent
twice is one file and its reuse is visible.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.activities.models import Activity, EvidenceFile
from app.errors import DomainError

_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


def sniff(data: bytes) -> str | None:
    for magic, content_type in _SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


def path_for(directory: str, sha256: str) -> Path:
    return Path(directory) / sha256[:2] / sha256


def check(data: bytes, *, max_bytes: int) -> str:
    """The file's type, once it is known to be a JPEG, PNG or PDF of at most ``max_bytes``."""
    if not data:
        raise DomainError("empty_evidence", _l("The file is empty."), field="evidence")
    if len(data) > max_bytes:
        raise DomainError(
            "evidence_too_large",
            _l("The file is larger than %(mb)s MB.", mb=max_bytes // (1024 * 1024)),
            field="evidence",
            status=413,
        )
    content_type = sniff(data)
    if content_type is None:
        raise DomainError(
            "evidence_type",
            _l("Upload a photo (JPEG or PNG) or a PDF."),
            field="evidence",
            status=415,
        )
    return content_type


def store(
    session: Session, owner_id: int, data: bytes, *, directory: str, max_bytes: int
) -> EvidenceFile:
    """Check and keep an uploaded file; refuses other types and files over ``max_bytes``."""
    content_type = check(data, max_bytes=max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    target = path_for(directory, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside it, then rename: a reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    evidence = EvidenceFile(
        owner_id=owner_id, sha256=digest, content_type=content_type, size_bytes=len(data)
    )
    session.add(evidence)
    session.flush()
    return evidence


def used_before(session: Session, evidence: EvidenceFile) -> bool:
    """Whether the same file was uploaded before (by anyone) for another report."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(EvidenceFile)
            .where(EvidenceFile.sha256 == evidence.sha256, EvidenceFile.id != evidence.id)
        )
        > 0
    )


def erase_owned(session: Session, owner_id: int, *, directory: str) -> int:
    """Forget every evidence file ``owner_id`` uploaded (a closed account's erasure): the rows,
    their activities' links to them, and each file no one else uploaded too; how many rows."""
    owned = list(session.scalars(sa.select(EvidenceFile).where(EvidenceFile.owner_id == owner_id)))
    if not owned:
        return 0
    ids = [evidence.id for evidence in owned]
    session.execute(
        sa.update(Activity)
        .where(Activity.evidence_id.in_(ids))
        .values(evidence_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(sa.delete(EvidenceFile).where(EvidenceFile.id.in_(ids)))
    for digest in {evidence.sha256 for evidence in owned}:
        shared = session.scalar(sa.select(EvidenceFile.id).where(EvidenceFile.sha256 == digest))
        if shared is None:
            path_for(directory, digest).unlink(missing_ok=True)
    return len(ids)
