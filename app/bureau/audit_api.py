"""The audit log, read-only, for bureau admins."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from app.accounts.auth import requires
from app.api.pagination import PageArgs, keyset_page, page_schema
from app.audit.models import AuditEntry
from app.db import db
from app.roles import Permission, Role

blp = Blueprint("audit_api", __name__, url_prefix="/api/v1/bureau", description="Audit log")


class AuditEntryOut(ma.Schema):
    id = ma.fields.Integer()
    occurred_at = ma.fields.AwareDateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    actor_role = ma.fields.Enum(Role, by_value=True, allow_none=True)
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.String(allow_none=True)
    summary = ma.fields.Dict()
    ip_address = ma.fields.String(allow_none=True)
    request_id = ma.fields.String(allow_none=True)


class AuditArgs(PageArgs):
    action = ma.fields.String(load_default=None)
    object_type = ma.fields.String(load_default=None)


@blp.get("/audit-log")
@requires(Permission.READ_AUDIT_LOG)
@blp.arguments(AuditArgs(), location="query")
@blp.response(200, page_schema(AuditEntryOut, "AuditPage"))
def list_entries(args: dict[str, Any]) -> dict[str, Any]:
    """Entries newest first, filtered by action or object type. There is no write route."""
    stmt = sa.select(AuditEntry)
    if args["action"]:
        stmt = stmt.where(AuditEntry.action == args["action"])
    if args["object_type"]:
        stmt = stmt.where(AuditEntry.object_type == args["object_type"])
    return keyset_page(db.session, stmt, AuditEntry.id, limit=args["limit"], cursor=args["cursor"])
