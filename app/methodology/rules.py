"""The rules of the methodology-version workflow, each checked before a step writes anything.

* one version per methodology is in preparation (draft or submitted) at a time;
* only a draft's parameters change, always through the plugin's parameter schema, and every value
  that differs from the plugin's published default carries a note on its source;
* four eyes: the admin who approves or rejects is not the one who submitted; a refused attempt is
  itself audited;
* approved versions of one methodology cover disjoint intervals [effective_from, effective_until),
  appended in time order: a newer approval closes the open-ended version at its own start
  (supersession); a start at or before an existing version's start is refused
  (``overlapping_versions``), and so is a start in the past that would cut short a version already
  crediting (``effective_in_past``);
* an approved or retired version never changes except to be retired or to have its interval ended.

Kept apart from ``services`` (the steps themselves) so each step reads as the list of rules it
applies; the database and the ORM guard the same rules again where they can.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from app import clock
from app.accounts.approvals import Independence, related_recently
from app.accounts.models import User
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError
from app.methodology.models import FROZEN_STATUSES, MethodologyVersion, VersionStatus
from methodologies.base import Methodology

#: Longest note on a parameter's source, and longest decision comment.
MAX_NOTE = 500
MAX_COMMENT = 2000


class InvalidParameters(DomainError):
    """Parameter values the plugin's schema refuses; ``errors`` mirrors the request's shape."""

    def __init__(self, errors: Mapping[str, Any]) -> None:
        super().__init__(
            "invalid_parameters",
            _l("Some parameters are not valid: %(names)s.", names=", ".join(_names(errors))),
            field="parameters",
        )
        self.field_errors = dict(errors)

    def errors(self) -> dict[str, Any]:
        return self.field_errors


class AuditedRefusal(DomainError):
    """A refusal that is itself in the audit log: the edge keeps that entry despite the error.

    Raised only before anything else was written, so keeping the transaction keeps just the entry.
    """

    keep_writes = True


def _names(errors: Mapping[str, Any]) -> list[str]:
    names = []
    for group, value in errors.items():
        names.extend(value if isinstance(value, Mapping) else [group])
    return names


def load_parameters(cls: type[Methodology], values: Mapping[str, Any]) -> Any:
    try:
        return cls.load_parameters(values)
    except ValidationError as error:
        messages = error.messages
        if not isinstance(messages, Mapping):
            messages = {"_schema": messages}
        raise InvalidParameters({"parameters": messages}) from error


def lock_versions_of(session: Session, code: str) -> list[MethodologyVersion]:
    """Lock the methodology's versions (PostgreSQL row locks; SQLite writers are serial already).

    Rows are locked in id order, so two callers never deadlock, and reloaded, so the caller sees
    what a transaction that held the lock before it committed.
    """
    stmt = (
        sa.select(MethodologyVersion)
        .where(MethodologyVersion.code == code)
        .order_by(MethodologyVersion.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def check_interval(
    siblings: Iterable[MethodologyVersion], version: MethodologyVersion, start: datetime
) -> MethodologyVersion | None:
    """The open-ended version that ``start`` supersedes, if any; refuse any overlap."""
    superseded = None
    for other in siblings:
        if other.id == version.id or other.status not in FROZEN_STATUSES:
            continue
        assert other.effective_from is not None
        if other.effective_until is None and start > other.effective_from:
            superseded = other
            continue
        if other.effective_until == other.effective_from:
            continue  # retired before it started: it never covers an instant
        if other.effective_until is None or start < other.effective_until:
            raise DomainError(
                "overlapping_versions",
                _l(
                    "%(label)s is in effect from %(start)s; a new version must start after it.",
                    label=other.label,
                    start=(other.effective_until or other.effective_from).isoformat(),
                ),
                field="effective_from",
                details={"conflicts_with": other.id},
            )
    if superseded is not None and start < clock.now():
        raise DomainError(
            "effective_in_past",
            _l(
                "%(label)s is crediting activities now; its successor cannot start in the past.",
                label=superseded.label,
            ),
            field="effective_from",
        )
    return superseded


def require_draft(version: MethodologyVersion) -> None:
    if version.status in FROZEN_STATUSES:
        raise Conflict(
            "version_immutable",
            _l(
                "%(label)s is approved and never changes: register a new version.",
                label=version.label,
            ),
            field="status",
        )
    if version.status != VersionStatus.DRAFT:
        raise Conflict(
            "version_not_draft",
            _l(
                "Only a draft can be changed or submitted; %(label)s is %(status)s.",
                label=version.label,
                status=version.status.value,
            ),
            field="status",
        )


def require_submitted(version: MethodologyVersion) -> None:
    if version.status != VersionStatus.SUBMITTED:
        raise Conflict(
            "version_not_submitted",
            _l(
                "Only a submitted version can be approved or rejected; %(label)s is %(status)s.",
                label=version.label,
                status=version.status.value,
            ),
            field="status",
        )


def decision_refusal(
    session: Session,
    user_id: int | None,
    version: MethodologyVersion,
    independence: Independence | None = None,
) -> tuple[str, Any] | None:
    """Why this person may not approve or reject the version (reason code and message), or None
    when they may: the step refuses with it, and the pages hide the decision for it."""
    if user_id is None:
        return None
    if version.submitted_by_id == user_id:
        return "four_eyes", _l(
            "You submitted this version: another bureau admin must approve or reject it."
        )
    if independence is not None and _related(session, user_id, version, independence):
        return "not_independent", _l(
            "You created the account that submitted this version, or it created yours, too "
            "recently: another bureau admin must approve or reject it."
        )
    return None


def require_other_person(
    session: Session,
    actor: Actor,
    user_id: int,
    version: MethodologyVersion,
    decision: str,
    independence: Independence | None = None,
) -> None:
    """Four eyes, and (with ``independence``) eyes that are not the submitter's own creation nor
    its creator within the period; the refused attempt is recorded before anything else is
    written."""
    refusal = decision_refusal(session, user_id, version, independence)
    if refusal is None:
        return
    reason, message = refusal
    audit.record(
        session,
        actor,
        "methodology.decision_refused",
        "methodology_version",
        version.id,
        {"label": version.label, "decision": decision, "reason": reason},
    )
    raise AuditedRefusal(reason, message, status=403)


def _related(
    session: Session, user_id: int, version: MethodologyVersion, independence: Independence
) -> bool:
    submitter = session.get(User, version.submitted_by_id) if version.submitted_by_id else None
    decider = session.get(User, user_id)
    if submitter is None or decider is None:
        return False
    return related_recently(decider, submitter, independence)


def require_person(actor: Actor) -> int:
    if actor.user_id is None:
        raise DomainError(
            "person_required",
            _l("A named bureau member must take this step."),
            status=403,
        )
    return actor.user_id


def require_comment(comment: str | None) -> str:
    text = (comment or "").strip()
    if not text:
        raise DomainError("comment_required", _l("Please write a comment."), field="comment")
    if len(text) > MAX_COMMENT:
        raise DomainError(
            "comment_too_long", _l("At most %(n)s characters.", n=MAX_COMMENT), field="comment"
        )
    return text


def add_or_conflict(session: Session, version: MethodologyVersion) -> None:
    """Insert in a savepoint; a concurrent registration that won the race becomes a 409."""
    try:
        with session.begin_nested():
            session.add(version)
            session.flush()
    except sa.exc.IntegrityError as error:
        raise Conflict(
            "draft_exists", _l("Another version of this methodology is being prepared.")
        ) from error
