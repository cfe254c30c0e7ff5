"""The bureau's workflow for methodology versions: register, edit, submit, approve, reject, retire.

Rules kept here (and guarded again by the database and the ORM where they can be):

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

Services flush and never commit. Every step writes an audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from app import clock
from app.audit import services as audit
from app.audit.services import SYSTEM, Actor
from app.errors import Conflict, DomainError, NotFound
from app.methodology.models import (
    FROZEN_STATUSES,
    OPEN_STATUSES,
    MethodologyVersion,
    VersionStatus,
    version_label,
)
from methodologies.base import Methodology

Plugins = Mapping[str, type[Methodology]]

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


# --- reading ------------------------------------------------------------------------------------


def get_version(session: Session, version_id: int) -> MethodologyVersion:
    version = session.get(MethodologyVersion, version_id)
    if version is None:
        raise NotFound("methodology_version")
    return version


def versions_of(session: Session, code: str) -> list[MethodologyVersion]:
    """Every version of one methodology, newest registration first."""
    stmt = (
        sa.select(MethodologyVersion)
        .where(MethodologyVersion.code == code)
        .order_by(MethodologyVersion.id.desc())
    )
    return list(session.scalars(stmt))


def version_in_effect(session: Session, code: str, at: datetime) -> MethodologyVersion | None:
    """The approved (or since retired) version of ``code`` whose interval contains ``at``."""
    stmt = sa.select(MethodologyVersion).where(
        MethodologyVersion.code == code,
        MethodologyVersion.status.in_(FROZEN_STATUSES),
        MethodologyVersion.effective_from <= at,
        sa.or_(
            MethodologyVersion.effective_until.is_(None), MethodologyVersion.effective_until > at
        ),
    )
    return session.scalars(stmt).one_or_none()


def plugin_for(plugins: Plugins, version: MethodologyVersion) -> type[Methodology]:
    """The installed plugin class that computes ``version``; its software version must match."""
    cls = plugins.get(version.code)
    if cls is None or cls.version != version.plugin_version:
        installed = f"{cls.code} {cls.version}" if cls is not None else None
        raise Conflict(
            "methodology_not_installed",
            _l(
                "%(label)s needs plugin %(code)s %(plugin_version)s, which is not installed "
                "or not enabled here.",
                label=version.label,
                code=version.code,
                plugin_version=version.plugin_version,
            ),
            details={"installed": installed},
        )
    return cls


def default_values(cls: type[Methodology]) -> Mapping[str, Any]:
    return cls.load_parameters(cls.default_parameters()).values


# --- the workflow -------------------------------------------------------------------------------


def register_draft(
    session: Session,
    actor: Actor,
    plugin_cls: type[Methodology],
    *,
    copy_from: int | None = None,
) -> MethodologyVersion:
    """A new draft of ``plugin_cls``: its default parameters, or a copy of another version's.

    The draft is the next parameter set of the plugin's version (``1.0.0``, ``1.0.0-p2`` …).
    Refused while another version of the methodology is in preparation.
    """
    code = plugin_cls.code
    _lock_versions_of(session, code)
    open_version = session.scalar(
        sa.select(MethodologyVersion).where(
            MethodologyVersion.code == code, MethodologyVersion.status.in_(OPEN_STATUSES)
        )
    )
    if open_version is not None:
        raise Conflict(
            "draft_exists",
            _l(
                "%(label)s is already being prepared; finish or reject it first.",
                label=open_version.label,
            ),
            details={"version_id": open_version.id},
        )
    parameters, notes = plugin_cls.default_parameters(), {}
    if copy_from is not None:
        source = get_version(session, copy_from)
        if source.code != code:
            raise DomainError(
                "wrong_methodology",
                _l("Copy from a version of the same methodology."),
                field="copy_from",
            )
        loaded = _load(plugin_cls, source.parameters)
        parameters = plugin_cls.dump_parameters(loaded)
        defaults = default_values(plugin_cls)
        notes = {
            name: note
            for name, note in source.parameter_notes.items()
            if name in defaults and loaded.values[name] != defaults[name]
        }
    revision = 1 + (
        session.scalar(
            sa.select(sa.func.max(MethodologyVersion.revision)).where(
                MethodologyVersion.code == code,
                MethodologyVersion.plugin_version == plugin_cls.version,
            )
        )
        or 0
    )
    version = MethodologyVersion(
        code=code,
        version=version_label(plugin_cls.version, revision),
        plugin_version=plugin_cls.version,
        revision=revision,
        activity_kind=plugin_cls.activity_kind,
        status=VersionStatus.DRAFT,
        parameters=parameters,
        parameter_notes=notes,
        created_by_id=actor.user_id,
    )
    _add_or_conflict(session, version)
    audit.record(
        session,
        actor,
        "methodology.register",
        "methodology_version",
        version.id,
        {"label": version.label, "copy_from": copy_from},
    )
    return version


def edit_draft(
    session: Session,
    actor: Actor,
    plugins: Plugins,
    version_id: int,
    *,
    parameters: Mapping[str, Any] | None = None,
    notes: Mapping[str, str | None] | None = None,
) -> MethodologyVersion:
    """Change some of a draft's parameter values and source notes.

    ``parameters`` holds the values to change; the whole set is then validated by the plugin's
    schema. An empty note removes it. Every value that differs from the default needs a note.
    """
    version = get_version(session, version_id)
    _require_draft(version)
    cls = plugin_for(plugins, version)
    merged = {**version.parameters, **(parameters or {})}
    loaded = _load(cls, merged)
    new_notes = dict(version.parameter_notes)
    note_errors: dict[str, list[str]] = {}
    for name, note in (notes or {}).items():
        text = (note or "").strip()
        if name not in merged:
            note_errors[name] = [str(_l("There is no such parameter."))]
        elif len(text) > MAX_NOTE:
            note_errors[name] = [str(_l("At most %(n)s characters.", n=MAX_NOTE))]
        elif text:
            new_notes[name] = text
        else:
            new_notes.pop(name, None)
    defaults = default_values(cls)
    for name, value in loaded.values.items():
        if value != defaults[name] and name not in new_notes and name not in note_errors:
            note_errors[name] = [
                str(_l("This value differs from the published default: say where it comes from."))
            ]
    if note_errors:
        raise InvalidParameters({"notes": note_errors})
    dumped = cls.dump_parameters(loaded)
    changes = {
        name: [version.parameters.get(name), value]
        for name, value in dumped.items()
        if version.parameters.get(name) != value
    }
    version.parameters = dumped
    version.parameter_notes = new_notes
    session.flush()
    audit.record(
        session,
        actor,
        "methodology.edit",
        "methodology_version",
        version.id,
        {"label": version.label, "changes": changes, "notes": dict(notes or {})},
    )
    return version


def submit(session: Session, actor: Actor, plugins: Plugins, version_id: int) -> MethodologyVersion:
    """Hand a draft to the bureau admins for approval; its parameters are checked once more."""
    user_id = _require_person(actor)
    version = get_version(session, version_id)
    _require_draft(version)
    _load(plugin_for(plugins, version), version.parameters)
    version.status = VersionStatus.SUBMITTED
    version.submitted_by_id = user_id
    version.submitted_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "methodology.submit",
        "methodology_version",
        version.id,
        {"label": version.label},
    )
    return version


def approve(
    session: Session,
    actor: Actor,
    plugins: Plugins,
    version_id: int,
    *,
    effective_from: datetime,
    comment: str,
) -> MethodologyVersion:
    """Approve a submitted version from ``effective_from``; it supersedes the open-ended one.

    Takes the lock on the methodology's versions first, so two approvals of the same methodology
    run one after the other and the second sees the first's interval.
    """
    user_id = _require_person(actor)
    comment = _require_comment(comment)
    if effective_from.utcoffset() is None:
        raise DomainError(
            "invalid_effective_from",
            _l("Give the date and time with its time zone."),
            field="effective_from",
        )
    effective_from = effective_from.astimezone(UTC)
    version = get_version(session, version_id)
    siblings = _lock_versions_of(session, version.code)
    _require_submitted(version)
    _require_other_person(session, actor, user_id, version, "approve")
    _load(plugin_for(plugins, version), version.parameters)
    superseded = _check_interval(siblings, version, effective_from)
    if superseded is not None:
        superseded.effective_until = effective_from
        session.flush()  # closes the open-ended version before this one becomes it
    now = clock.now()
    version.status = VersionStatus.APPROVED
    version.effective_from = effective_from
    version.decided_by_id = user_id
    version.decided_at = now
    version.decision_comment = comment
    session.flush()
    audit.record(
        session,
        actor,
        "methodology.approve",
        "methodology_version",
        version.id,
        {
            "label": version.label,
            "effective_from": effective_from.isoformat(),
            "comment": comment,
            "supersedes": superseded.label if superseded is not None else None,
        },
    )
    return version


def reject(session: Session, actor: Actor, version_id: int, *, comment: str) -> MethodologyVersion:
    """Send a submitted version back for good; a corrected one starts as a new draft (copy)."""
    user_id = _require_person(actor)
    comment = _require_comment(comment)
    version = get_version(session, version_id)
    _lock_versions_of(session, version.code)
    _require_submitted(version)
    _require_other_person(session, actor, user_id, version, "reject")
    version.status = VersionStatus.REJECTED
    version.decided_by_id = user_id
    version.decided_at = clock.now()
    version.decision_comment = comment
    session.flush()
    audit.record(
        session,
        actor,
        "methodology.reject",
        "methodology_version",
        version.id,
        {"label": version.label, "comment": comment},
    )
    return version


def retire(session: Session, actor: Actor, version_id: int, *, comment: str) -> MethodologyVersion:
    """Stop an approved version crediting from now (or make a future one never start).

    Activities that happened while it was in effect still resolve to it, so stored reductions stay
    recomputable and late reports of that time are credited under the rules of that time.
    """
    user_id = _require_person(actor)
    comment = _require_comment(comment)
    version = get_version(session, version_id)
    _lock_versions_of(session, version.code)
    if version.status != VersionStatus.APPROVED:
        raise Conflict(
            "version_not_approved", _l("Only an approved version can be retired."), field="status"
        )
    now = clock.now()
    assert version.effective_from is not None  # approved rows have one (CHECK constraint)
    end = max(now, version.effective_from)
    if version.effective_until is None or end < version.effective_until:
        version.effective_until = end
    version.status = VersionStatus.RETIRED
    version.retired_by_id = user_id
    version.retired_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "methodology.retire",
        "methodology_version",
        version.id,
        {
            "label": version.label,
            "comment": comment,
            "effective_until": version.effective_until.isoformat(),
        },
    )
    return version


def sync_drafts(
    session: Session, plugins: Plugins, actor: Actor = SYSTEM
) -> tuple[list[MethodologyVersion], list[tuple[str, str]]]:
    """Register a draft for every installed plugin version the database has never seen.

    Returns the drafts made and, for each plugin skipped, its code and why (another version of it
    is being prepared).
    """
    known = set(
        session.execute(sa.select(MethodologyVersion.code, MethodologyVersion.plugin_version))
    )
    made, skipped = [], []
    for code, cls in sorted(plugins.items()):
        if (code, cls.version) in known:
            continue
        try:
            made.append(register_draft(session, actor, cls))
        except Conflict as error:
            skipped.append((code, str(error.message)))
    return made, skipped


def register_and_approve(
    session: Session,
    plugins: Plugins,
    *,
    submitter: Actor,
    approver: Actor,
    effective_from: datetime,
    comment: str,
) -> list[MethodologyVersion]:
    """Each plugin's defaults, submitted by one person and approved by another (demo data)."""
    approved = []
    for cls in plugins.values():
        draft = register_draft(session, submitter, cls)
        submit(session, submitter, plugins, draft.id)
        approved.append(
            approve(
                session,
                approver,
                plugins,
                draft.id,
                effective_from=effective_from,
                comment=comment,
            )
        )
    return approved


# --- rules --------------------------------------------------------------------------------------


def _load(cls: type[Methodology], values: Mapping[str, Any]) -> Any:
    try:
        return cls.load_parameters(values)
    except ValidationError as error:
        messages = error.messages
        if not isinstance(messages, Mapping):
            messages = {"_schema": messages}
        raise InvalidParameters({"parameters": messages}) from error


def _lock_versions_of(session: Session, code: str) -> list[MethodologyVersion]:
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


def _check_interval(
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


def _require_draft(version: MethodologyVersion) -> None:
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


def _require_submitted(version: MethodologyVersion) -> None:
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


def _require_other_person(
    session: Session, actor: Actor, user_id: int, version: MethodologyVersion, decision: str
) -> None:
    """Four eyes; the refused attempt is recorded before anything else is written."""
    if version.submitted_by_id != user_id:
        return
    audit.record(
        session,
        actor,
        "methodology.decision_refused",
        "methodology_version",
        version.id,
        {"label": version.label, "decision": decision, "reason": "four_eyes"},
    )
    raise AuditedRefusal(
        "four_eyes",
        _l("You submitted this version: another bureau admin must approve or reject it."),
        status=403,
    )


def _require_person(actor: Actor) -> int:
    if actor.user_id is None:
        raise DomainError(
            "person_required",
            _l("A named bureau member must take this step."),
            status=403,
        )
    return actor.user_id


def _require_comment(comment: str | None) -> str:
    text = (comment or "").strip()
    if not text:
        raise DomainError("comment_required", _l("Please write a comment."), field="comment")
    if len(text) > MAX_COMMENT:
        raise DomainError(
            "comment_too_long", _l("At most %(n)s characters.", n=MAX_COMMENT), field="comment"
        )
    return text


def _add_or_conflict(session: Session, version: MethodologyVersion) -> None:
    """Insert in a savepoint; a concurrent registration that won the race becomes a 409."""
    try:
        with session.begin_nested():
            session.add(version)
            session.flush()
    except sa.exc.IntegrityError as error:
        raise Conflict(
            "draft_exists", _l("Another version of this methodology is being prepared.")
        ) from error
