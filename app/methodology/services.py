"""The bureau's workflow for methodology versions: register, edit, submit, approve, reject, retire.

Each step checks the workflow's rules (``rules``) before it writes; versions are read through
``queries``. Services flush and never commit. Every step writes an audit entry in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts.approvals import Independence
from app.audit import services as audit
from app.audit.services import SYSTEM, Actor
from app.errors import Conflict, DomainError
from app.methodology.models import OPEN_STATUSES, MethodologyVersion, VersionStatus, version_label
from app.methodology.queries import (
    Plugins,
    default_values,
    get_version,
    plugin_for,
    version_in_effect,
)
from app.methodology.rules import (
    MAX_COMMENT,
    MAX_NOTE,
    AuditedRefusal,
    InvalidParameters,
    add_or_conflict,
    check_interval,
    load_parameters,
    lock_versions_of,
    require_comment,
    require_draft,
    require_other_person,
    require_person,
    require_submitted,
)
from methodologies.base import Methodology

#: The workflow's steps, and what callers read beside them (versions, limits, refusals).
__all__ = [
    "MAX_COMMENT",
    "MAX_NOTE",
    "AuditedRefusal",
    "InvalidParameters",
    "Plugins",
    "approve",
    "default_values",
    "edit_draft",
    "get_version",
    "plugin_for",
    "register_and_approve",
    "register_draft",
    "reject",
    "retire",
    "submit",
    "sync_drafts",
    "version_in_effect",
]

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
    lock_versions_of(session, code)
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
        loaded = load_parameters(plugin_cls, source.parameters)
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
    add_or_conflict(session, version)
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
    require_draft(version)
    cls = plugin_for(plugins, version)
    merged = {**version.parameters, **(parameters or {})}
    loaded = load_parameters(cls, merged)
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
    user_id = require_person(actor)
    version = get_version(session, version_id)
    require_draft(version)
    load_parameters(plugin_for(plugins, version), version.parameters)
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
    independence: Independence | None = None,
) -> MethodologyVersion:
    """Approve a submitted version from ``effective_from``; it supersedes the open-ended one.

    Takes the lock on the methodology's versions first, so two approvals of the same methodology
    run one after the other and the second sees the first's interval.
    """
    user_id = require_person(actor)
    comment = require_comment(comment)
    if effective_from.utcoffset() is None:
        raise DomainError(
            "invalid_effective_from",
            _l("Give the date and time with its time zone."),
            field="effective_from",
        )
    effective_from = effective_from.astimezone(UTC)
    version = get_version(session, version_id)
    siblings = lock_versions_of(session, version.code)
    require_submitted(version)
    require_other_person(session, actor, user_id, version, "approve", independence)
    load_parameters(plugin_for(plugins, version), version.parameters)
    superseded = check_interval(siblings, version, effective_from)
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


def reject(
    session: Session,
    actor: Actor,
    version_id: int,
    *,
    comment: str,
    independence: Independence | None = None,
) -> MethodologyVersion:
    """Send a submitted version back for good; a corrected one starts as a new draft (copy)."""
    user_id = require_person(actor)
    comment = require_comment(comment)
    version = get_version(session, version_id)
    lock_versions_of(session, version.code)
    require_submitted(version)
    require_other_person(session, actor, user_id, version, "reject", independence)
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
    user_id = require_person(actor)
    comment = require_comment(comment)
    version = get_version(session, version_id)
    lock_versions_of(session, version.code)
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
