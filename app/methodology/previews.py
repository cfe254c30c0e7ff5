"""Impact previews: asking what a draft would have made of recent activities.

The bureau asks from a draft's (or submitted version's) page or the API; :func:`request_preview`
checks that the draft can be computed at all (its plugin installed, its parameters valid) and
queues a :class:`MethodologyPreview`. The ``methodology-previews`` job computes it
(``app.activities.preview``) and stores the result; pages and the API only read the stored row,
so every web worker shows the same progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.audit.services import Actor
from app.errors import Conflict, DomainError
from app.methodology.models import (
    ACTIVE_PREVIEW_STATUSES,
    OPEN_STATUSES,
    MethodologyPreview,
    MethodologyVersion,
    PreviewStatus,
)
from app.methodology.queries import Plugins, get_version, plugin_for
from app.methodology.rules import load_parameters

#: Days of activities a preview replays, up to the instant it is asked for.
PREVIEW_DAYS = 30
#: How many of the largest per-activity differences a preview keeps.
TOP_DIFFERENCES = 20


def readiness(plugins: Plugins, version: MethodologyVersion) -> DomainError | None:
    """Why this version cannot be previewed (not in preparation, not installed, invalid); None
    if it can. The page shows the reason instead of the button; a request is refused with it."""
    if version.status not in OPEN_STATUSES:
        return Conflict(
            "not_in_preparation",
            _l("Only a draft or a submitted version can be previewed; %(label)s is %(status)s.",
               label=version.label, status=version.status.value),
        )  # fmt: skip
    try:
        load_parameters(plugin_for(plugins, version), version.parameters)
    except DomainError as error:
        return error
    return None


def latest_preview(session: Session, version_id: int) -> MethodologyPreview | None:
    """The version's newest preview (a superseded one is never the newest)."""
    return session.scalars(
        sa.select(MethodologyPreview)
        .where(MethodologyPreview.version_id == version_id)
        .order_by(MethodologyPreview.id.desc())
        .limit(1)
    ).first()


def get_preview(session: Session, version_id: int, preview_id: int) -> MethodologyPreview:
    preview = session.get(MethodologyPreview, preview_id)
    if preview is None or preview.version_id != version_id:
        raise DomainError("preview_not_found", _l("Not found."), status=404)
    return preview


def request_preview(
    session: Session,
    actor: Actor,
    plugins: Plugins,
    version_id: int,
    *,
    now: datetime,
    days: int = PREVIEW_DAYS,
) -> MethodologyPreview:
    """Queue a preview of the version's current parameters over the ``days`` before ``now``.

    A preview of the same parameters already queued or running is returned instead of a new one;
    one of parameters the draft no longer has is superseded. Refused (nothing written) if the
    version is not in preparation (409), its plugin is not installed (409) or its parameters do
    not validate (422).
    """
    version = get_version(session, version_id)
    refusal = readiness(plugins, version)
    if refusal is not None:
        raise refusal
    active = session.scalars(
        sa.select(MethodologyPreview)
        .where(
            MethodologyPreview.version_id == version_id,
            MethodologyPreview.status.in_(ACTIVE_PREVIEW_STATUSES),
        )
        .with_for_update()
    ).first()
    if active is not None:
        if _same(active.parameters, version.parameters):
            return active
        active.status = PreviewStatus.SUPERSEDED
        active.finished_at = now
        session.flush()
    preview = MethodologyPreview(
        version_id=version_id,
        status=PreviewStatus.QUEUED,
        parameters=dict(version.parameters),
        window_from=now - timedelta(days=days),
        window_until=now,
        requested_by_id=actor.user_id,
        requested_at=now,
        processed=0,
        total=0,
    )
    try:
        with session.begin_nested():
            session.add(preview)
            session.flush()
    except sa.exc.IntegrityError:
        # Another request queued one between our read and our insert: that one is the preview.
        winner = session.scalars(
            sa.select(MethodologyPreview).where(
                MethodologyPreview.version_id == version_id,
                MethodologyPreview.status.in_(ACTIVE_PREVIEW_STATUSES),
            )
        ).first()
        if winner is None:
            raise
        return winner
    return preview


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return dict(a) == dict(b)


_ERRORS = {
    "methodology_not_installed": _l(
        "%(label)s needs software that is not installed here, so it cannot be computed."
    ),
    "invalid_parameters": _l("The parameters of %(label)s are not valid: %(names)s."),
    "preview_failed": _l("The preview could not be computed; the server log has the details."),
}


def error_message(error: Mapping[str, Any] | None) -> str | None:
    """A stored failure (of the preview, or of the version in effect's side) in words."""
    if not error:
        return None
    template = _ERRORS.get(error.get("code", ""))
    if template is None:
        return str(error.get("code"))
    names = ", ".join(sorted((error.get("errors") or {}).get("parameters", {})))
    return str(template) % {"label": error.get("label", ""), "names": names}


def describe(preview: MethodologyPreview, draft_parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The preview as the page and the API show it: progress, outcome, and what differs."""
    result = preview.result
    described: dict[str, Any] = {
        "id": preview.id,
        "version_id": preview.version_id,
        "status": preview.status,
        "processed": preview.processed,
        "total": preview.total,
        "percent": 100 * preview.processed // preview.total if preview.total else 0,
        "requested_at": preview.requested_at,
        "started_at": preview.started_at,
        "finished_at": preview.finished_at,
        "window_from": preview.window_from,
        "window_until": preview.window_until,
        "outdated": not _same(preview.parameters, draft_parameters),
        "error": _error_out(preview.error),
        "result": None,
    }
    if result is not None:
        current, draft = result["current"], result["draft"]
        change = None
        if current is not None:
            change = {key: draft.get(key, 0) - current.get(key, 0) for key in _COUNTED}
        described["result"] = result | {
            "change": change,
            "current_error": _error_out(result.get("current_error")),
        }
    return described


#: The figures each side of a preview counts.
_COUNTED = ("credited", "flagged", "rejected", "no_reduction", "capped", "grams", "points")


def _error_out(error: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not error:
        return None
    return {"code": error["code"], "message": error_message(error)}
