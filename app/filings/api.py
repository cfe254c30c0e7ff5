"""JSON API: filing batches for the bureau and third-party verifiers (list, detail, package)."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint
from werkzeug.wrappers import Response

from app.accounts.auth import authorize
from app.accounts.roles import Permission
from app.api.pagination import PageArgs, keyset_page, page_schema
from app.db import db
from app.filings import services
from app.filings.models import BatchStatus, FilingBatch
from app.filings.views import download

blp = Blueprint(
    "filings_api",
    __name__,
    url_prefix="/api/v1/filings",
    description="Filing batches: verified reductions bundled per methodology version and month",
)

#: A batch serial: TPH-<yyyymm>-<id>.
SERIAL = r"^TPH-[0-9]{6}-[0-9]{6,}$"


class BatchArgs(PageArgs):
    status = ma.fields.Enum(BatchStatus, by_value=True, load_default=None)


class BatchOut(ma.Schema):
    serial = ma.fields.String(metadata={"description": "TPH-<yyyymm>-<id>"})
    status = ma.fields.Enum(BatchStatus, by_value=True)
    period_start = ma.fields.Date(metadata={"description": "First local day of the month"})
    period_end = ma.fields.Date(metadata={"description": "First local day after the period"})
    timezone = ma.fields.String()
    methodology_code = ma.fields.String()
    methodology_version = ma.fields.String()
    activities = ma.fields.Integer(metadata={"description": "Number of lines"})
    participants = ma.fields.Integer()
    total_g = ma.fields.Integer(metadata={"description": "Reduction, grams CO2e (exact)"})
    root_hash = ma.fields.String(metadata={"description": "SHA-256 root of the package files"})
    created_at = ma.fields.AwareDateTime()
    registry_reference = ma.fields.String(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    rejection_reason = ma.fields.String(allow_none=True)


class BatchDetailOut(BatchOut):
    manifest = ma.fields.Method(
        "_manifest",
        metadata={
            "type": "object",
            "description": "manifest.json as packaged: per-file SHA-256, totals, methodology",
        },
    )

    def _manifest(self, batch: FilingBatch) -> Any:
        return json.loads(batch.manifest)


BatchPageOut = page_schema(BatchOut, "FilingBatchPage")


def _authorize_reader() -> None:
    """The bureau's filing staff and third-party verifiers read batches."""
    if current_user.is_authenticated and current_user.can(Permission.VERIFY_FILINGS):
        return
    authorize(Permission.MANAGE_FILINGS)


def _serial_parameter() -> dict[str, Any]:
    return {
        "parameters": [
            {
                "in": "path",
                "name": "serial",
                "required": True,
                "schema": {"type": "string", "pattern": SERIAL, "maxLength": 32},
            }
        ]
    }


@blp.get("/batches")
@blp.arguments(BatchArgs(), location="query")
@blp.response(200, BatchPageOut)
def list_batches(args: dict[str, Any]) -> dict[str, Any]:
    """Filing batches, newest first; optionally of one status."""
    _authorize_reader()
    stmt = sa.select(FilingBatch)
    if args["status"] is not None:
        stmt = stmt.where(FilingBatch.status == args["status"])
    return keyset_page(db.session, stmt, FilingBatch.id, limit=args["limit"], cursor=args["cursor"])


@blp.get("/batches/<string(maxlength=32):serial>")
@blp.doc(**_serial_parameter())
@blp.response(200, BatchDetailOut)
def batch_detail(serial: str) -> FilingBatch:
    """One batch by its serial, with its manifest."""
    _authorize_reader()
    return services.batch_by_serial(db.session, serial)


@blp.get("/batches/<string(maxlength=32):serial>/package.zip")
@blp.doc(
    **_serial_parameter(),
    responses={
        "200": {
            "description": "The filing package: manifest.json, lines.csv, summary.html",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def batch_package(serial: str) -> Response:
    """The batch's package, as filed; check it offline with `tanpuhui verify-filing`."""
    _authorize_reader()
    return download(services.batch_by_serial(db.session, serial))
