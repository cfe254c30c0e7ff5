"""JSON API: the public methodology catalogue, and the bureau's version workflow."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_smorest import Blueprint

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.api.pagination import keyset_page
from app.context import approval_independence, methodologies
from app.db import db
from app.error_handlers import keeping_writes
from app.errors import NotFound
from app.methodology import previews, schemas, services
from app.methodology.apply import Applied, apply
from app.methodology.catalogue import catalogue, catalogue_entry, parameter_specs
from app.methodology.models import MethodologyVersion

blp = Blueprint(
    "methodology_api",
    __name__,
    url_prefix="/api/v1",
    description="Methodologies: the public catalogue and the bureau's versions",
)
PUBLIC: list[dict[str, list[str]]] = []  # routes open without credentials


@blp.get("/methodologies")
@blp.response(200, schemas.MethodologyCatalogueOut)
@blp.doc(security=PUBLIC)
def public_catalogue() -> dict[str, Any]:
    """Every methodology: formula, version in effect, upcoming and past versions, parameters."""
    return {"items": catalogue(db.session, methodologies(), clock.now())}


@blp.get("/methodologies/<methodology_code>")
@blp.response(200, schemas.MethodologyOut)
@blp.doc(security=PUBLIC)
def public_methodology(methodology_code: str) -> Any:
    """One methodology of the public catalogue."""
    return catalogue_entry(db.session, methodologies(), methodology_code, clock.now())


@blp.get("/bureau/methodologies")
@requires(Permission.BUREAU_CONSOLE)
@blp.arguments(schemas.MethodologyVersionListArgs(), location="query")
@blp.response(200, schemas.VersionPage)
def list_versions(args: dict[str, Any]) -> dict[str, Any]:
    """Every version of every methodology, newest first; filter by code or status."""
    stmt = sa.select(MethodologyVersion)
    if args["code"]:
        stmt = stmt.where(MethodologyVersion.code == args["code"])
    if args["status"]:
        stmt = stmt.where(MethodologyVersion.status == args["status"])
    return keyset_page(
        db.session, stmt, MethodologyVersion.id, limit=args["limit"], cursor=args["cursor"]
    )


@blp.post("/bureau/methodologies")
@requires(Permission.EDIT_METHODOLOGY)
@blp.arguments(schemas.MethodologyRegisterIn())
@blp.response(201, schemas.MethodologyVersionOut)
def register(data: dict[str, Any]) -> MethodologyVersion:
    """Register a draft of an installed methodology, from its defaults or a copy (audited)."""
    plugin = methodologies().get(data["code"])
    if plugin is None:
        raise NotFound("methodology")
    return services.register_draft(db.session, current_actor(), plugin, copy_from=data["copy_from"])


@blp.post("/bureau/methodologies/apply")
@requires(Permission.BUREAU_CONSOLE)
@blp.arguments(schemas.MethodologyApplyIn())
@blp.response(200, schemas.MethodologyAppliedOut)
def try_apply(data: dict[str, Any]) -> Applied:
    """What the version in effect at ``occurred_at`` makes of an activity; nothing is stored."""
    return apply(db.session, methodologies(), quantities_raw=data.pop("quantities"), **data)


@blp.get("/bureau/methodologies/<int:version_id>")
@requires(Permission.BUREAU_CONSOLE)
@blp.response(200, schemas.MethodologyVersionDetailOut)
def get_version(version_id: int) -> dict[str, Any]:
    """One version with the parameter schema its values must satisfy."""
    version = services.get_version(db.session, version_id)
    plugin = services.plugin_for(methodologies(), version)
    return {"version": version, "parameter_schema": parameter_specs(plugin)}


@blp.patch("/bureau/methodologies/<int:version_id>")
@requires(Permission.EDIT_METHODOLOGY)
@blp.arguments(schemas.MethodologyEditIn())
@blp.response(200, schemas.MethodologyVersionOut)
def edit(data: dict[str, Any], version_id: int) -> MethodologyVersion:
    """Change a draft's parameter values and their source notes (audited)."""
    return services.edit_draft(
        db.session,
        current_actor(),
        methodologies(),
        version_id,
        parameters=data["parameters"],
        notes=data["notes"],
    )


@blp.post("/bureau/methodologies/<int:version_id>/submit")
@requires(Permission.EDIT_METHODOLOGY)
@blp.response(200, schemas.MethodologyVersionOut)
def submit(version_id: int) -> MethodologyVersion:
    """Submit a draft for approval by another bureau admin (audited)."""
    return services.submit(db.session, current_actor(), methodologies(), version_id)


@blp.post("/bureau/methodologies/<int:version_id>/approve")
@requires(Permission.APPROVE_METHODOLOGY)
@blp.arguments(schemas.MethodologyApproveIn())
@blp.response(200, schemas.MethodologyVersionOut)
def approve(data: dict[str, Any], version_id: int) -> MethodologyVersion:
    """Approve a submitted version from an instant; it supersedes the one in effect (audited)."""
    with keeping_writes():
        return services.approve(
            db.session,
            current_actor(),
            methodologies(),
            version_id,
            effective_from=data["effective_from"],
            comment=data["comment"],
            independence=approval_independence(),
        )


@blp.post("/bureau/methodologies/<int:version_id>/reject")
@requires(Permission.APPROVE_METHODOLOGY)
@blp.arguments(schemas.MethodologyCommentIn())
@blp.response(200, schemas.MethodologyVersionOut)
def reject(data: dict[str, Any], version_id: int) -> MethodologyVersion:
    """Reject a submitted version with a comment (audited)."""
    with keeping_writes():
        return services.reject(
            db.session,
            current_actor(),
            version_id,
            comment=data["comment"],
            independence=approval_independence(),
        )


@blp.post("/bureau/methodologies/<int:version_id>/retire")
@requires(Permission.APPROVE_METHODOLOGY)
@blp.arguments(schemas.MethodologyCommentIn())
@blp.response(200, schemas.MethodologyVersionOut)
def retire(data: dict[str, Any], version_id: int) -> MethodologyVersion:
    """Stop an approved version crediting from now (audited)."""
    return services.retire(db.session, current_actor(), version_id, comment=data["comment"])


@blp.post("/bureau/methodologies/<int:version_id>/preview")
@requires(Permission.BUREAU_CONSOLE)
@blp.response(202, schemas.MethodologyPreviewOut)
def request_preview(version_id: int) -> dict[str, Any]:
    """Replay the last 30 days' activities through a draft (or submitted) version beside the
    version in effect. Computed in the background: poll ``GET …/preview`` for its progress. A
    preview of the same parameters still queued or running is returned instead of a new one."""
    preview = previews.request_preview(
        db.session, current_actor(), methodologies(), version_id, now=clock.now()
    )
    return previews.describe(preview, services.get_version(db.session, version_id).parameters)


@blp.get("/bureau/methodologies/<int:version_id>/preview")
@requires(Permission.BUREAU_CONSOLE)
@blp.response(200, schemas.MethodologyPreviewOut)
def get_preview(version_id: int) -> dict[str, Any]:
    """The version's latest impact preview: its status and progress, then its result."""
    version = services.get_version(db.session, version_id)
    preview = previews.latest_preview(db.session, version_id)
    if preview is None:
        raise NotFound("preview")
    return previews.describe(preview, version.parameters)
