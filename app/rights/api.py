"""JSON API: a copy of the caller's data, and closing the caller's account."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint

from app.accounts.auth import current_actor, requires
from app.accounts.models import User
from app.accounts.roles import Permission
from app.db import db
from app.rights import closure, exports, schemas
from app.rights.models import DataExport
from app.rights.views import cooling_off, export_settings

blp = Blueprint(
    "rights_api", __name__, url_prefix="/api/v1/me", description="Your data: copy and closure"
)


@blp.post("/data-exports")
@requires(Permission.USE_WALLET)
@blp.response(202, schemas.ExportOut)
def request_export() -> DataExport:
    """Ask for a copy of your data (audited): ready at once for most accounts, else made in the
    background; poll the list for its download link. One copy at a time."""
    user = db.session.get_one(User, current_user.id)
    return exports.request_export(db.session, current_actor(), user, export_settings())


@blp.get("/data-exports")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.ExportOut(many=True))
def list_exports() -> list[Any]:
    """Your copies, newest first."""
    return list(
        db.session.scalars(
            sa.select(DataExport)
            .where(DataExport.user_id == current_user.id)
            .order_by(DataExport.id.desc())
            .limit(20)
        )
    )


@blp.post("/closure")
@requires(Permission.USE_WALLET)
@blp.response(202, schemas.ClosureOut)
def request_closure() -> Any:
    """Close your account (residents; audited). Your personal information is erased once the
    cooling-off period ends; until then DELETE cancels it."""
    user = db.session.get_one(User, current_user.id)
    return closure.request_closure(db.session, current_actor(), user, cooling_off=cooling_off())


@blp.delete("/closure")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.ClosureOut)
def cancel_closure() -> Any:
    """Cancel your account's closure during the cooling-off period (audited)."""
    return closure.cancel_closure(db.session, current_actor(), current_user.id)
