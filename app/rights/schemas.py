"""What a resident sees of their data copies and their account's closure."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for

from app.rights.models import ClosureStatus, ExportStatus


class ExportOut(ma.Schema):
    """A copy of the caller's data: being made, or ready to download until it expires."""

    id = ma.fields.Integer()
    status = ma.fields.Enum(ExportStatus, by_value=True)
    requested_at = ma.fields.AwareDateTime()
    ready_at = ma.fields.AwareDateTime(allow_none=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    size_bytes = ma.fields.Integer(allow_none=True)
    download_url = ma.fields.Function(
        lambda export: (
            url_for("rights.download", export_id=export.id) if export.file_name else None
        ),
        metadata={"description": "The zip file (signed in as its owner), until expires_at"},
    )


class ClosureOut(ma.Schema):
    """The caller's request to close their account."""

    id = ma.fields.Integer()
    status = ma.fields.Enum(ClosureStatus, by_value=True)
    requested_at = ma.fields.AwareDateTime()
    erase_after = ma.fields.AwareDateTime(
        metadata={"description": "End of the cooling-off period: cancel before it"}
    )
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)
