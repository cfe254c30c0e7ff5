"""The public registry's edges: the page ``/registry``, its CSV, and the JSON API."""

from __future__ import annotations

import csv
import io
from typing import Any

import marshmallow as ma
from flask import Blueprint, render_template, request
from flask_smorest import Blueprint as ApiBlueprint
from werkzeug.wrappers import Response

from app.api.pagination import PageArgs, decode_id_cursor, encode_cursor, page_schema
from app.csvcells import safe_cell
from app.db import db
from app.errors import DomainError, NotFound
from app.filings import forms, registry
from app.filings.models import RetirementPurpose, UnitState

bp = Blueprint("registry", __name__)
blp = ApiBlueprint(
    "registry_api",
    __name__,
    url_prefix="/api/v1/registry",
    description="The public registry of units: serial ranges by state, and a unit's history",
)

PAGE_SIZE = 100
CSV_COLUMNS = (
    "serial", "units_t_co2e", "state", "batch", "methodology", "vintage", "holder", "purpose",
    "certificate", "sale", "changed_at",
)  # fmt: skip


class RangeArgs(PageArgs):
    state = ma.fields.Enum(UnitState, by_value=True, load_default=None)
    vintage = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(registry.VINTAGE_PATTERN),
        metadata={"description": "The batch's month, yyyy-mm"},
    )
    methodology = ma.fields.String(
        load_default=None, validate=ma.validate.Length(max=64), metadata={"example": "bus"}
    )
    holder = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=128),
        metadata={"description": "Beneficiary of a retirement or buyer of a sale, exactly"},
    )
    purpose = ma.fields.Enum(RetirementPurpose, by_value=True, load_default=None)


class RangeOut(ma.Schema):
    serial = ma.fields.String(
        metadata={"description": "<city>-<METHOD>-<yyyymm>-B<batch>-<first>-<last>"}
    )
    units = ma.fields.Integer(metadata={"description": "Units in the range, 1 t CO2e each"})
    state = ma.fields.Enum(UnitState, by_value=True)
    batch_serial = ma.fields.String(metadata={"description": "The filing batch, TPH-<yyyymm>-<id>"})
    methodology_code = ma.fields.String()
    vintage = ma.fields.Date(metadata={"description": "First day of the batch's month"})
    holder = ma.fields.String(
        allow_none=True, metadata={"description": "Beneficiary (retired) or buyer (sold)"}
    )
    purpose = ma.fields.Enum(RetirementPurpose, by_value=True, allow_none=True)
    certificate = ma.fields.String(
        allow_none=True, metadata={"description": "The retirement's certificate number"}
    )
    sale_id = ma.fields.Integer(allow_none=True, metadata={"description": "The sale, if sold"})
    changed_at = ma.fields.AwareDateTime(metadata={"description": "When it took this state"})
    note = ma.fields.String(allow_none=True, metadata={"description": "Why it was cancelled"})


RangePageOut = page_schema(RangeOut, "UnitRangePage")


class SearchArgs(ma.Schema):
    serial = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=120),
        metadata={"example": "YC-BUS-202606-B000007-0000001"},
    )


class HistoryOut(ma.Schema):
    serial = ma.fields.String(metadata={"description": "The units searched for"})
    batch_serial = ma.fields.String()
    registry_reference = ma.fields.String(allow_none=True)
    accepted_at = ma.fields.AwareDateTime(allow_none=True)
    root_hash = ma.fields.String(metadata={"description": "SHA-256 root of the batch's package"})
    remainder_g = ma.fields.Integer(metadata={"description": "The batch's grams below a unit"})
    parts = ma.fields.List(
        ma.fields.Nested(RangeOut), metadata={"description": "The ranges holding those units"}
    )


def _filters(args: dict[str, Any]) -> registry.Filters:
    return registry.Filters(
        state=args.get("state"),
        vintage=registry.parse_vintage(args.get("vintage")),
        methodology=args.get("methodology") or None,
        holder=args.get("holder") or None,
        purpose=args.get("purpose"),
    )


@blp.get("/ranges")
@blp.arguments(RangeArgs(), location="query")
@blp.response(200, RangePageOut)
def list_ranges(args: dict[str, Any]) -> dict[str, Any]:
    """Ranges of units in serial order, filtered by state, vintage, methodology, holder or
    purpose; public."""
    after = decode_id_cursor(args["cursor"]) if args["cursor"] else None
    rows = registry.ranges(db.session, _filters(args), after=after, limit=args["limit"] + 1)
    more = len(rows) > args["limit"]
    rows = rows[: args["limit"]]
    return {"items": rows, "next_cursor": encode_cursor([rows[-1].id]) if more else None}


@blp.get("/search")
@blp.arguments(SearchArgs(), location="query")
@blp.response(200, HistoryOut)
def search(args: dict[str, Any]) -> dict[str, Any]:
    """A unit (or range) by serial: the ranges holding it and its batch back to the root hash."""
    found = registry.history(db.session, args["serial"])
    batch = found.batch
    return {
        "serial": found.searched, "batch_serial": batch.serial,
        "registry_reference": batch.registry_reference, "accepted_at": batch.decided_at,
        "root_hash": batch.root_hash, "remainder_g": found.issuance.remainder_g,
        "parts": found.parts,
    }  # fmt: skip


def _page_filters() -> tuple[registry.Filters, dict[str, str]]:
    """The page's filters from its query string; an unknown choice is no filter."""
    given = {key: (request.args.get(key) or "").strip()[:128] for key in (
        "state", "vintage", "methodology", "holder", "purpose")}  # fmt: skip
    states = {state.value: state for state in UnitState}
    purposes = {purpose.value: purpose for purpose in RetirementPurpose}
    filters = registry.Filters(
        state=states.get(given["state"]),
        vintage=registry.parse_vintage(given["vintage"]),
        methodology=given["methodology"] or None,
        holder=given["holder"] or None,
        purpose=purposes.get(given["purpose"]),
    )
    return filters, given


@bp.get("/registry")
def registry_page() -> Any:
    status, errors = 200, {}
    try:
        filters, given = _page_filters()
    except DomainError as error:
        filters, given = registry.Filters(), {}
        status, errors = error.status, {"vintage": error.message}
    found, serial = None, (request.args.get("serial") or "").strip()[:120]
    if serial:
        try:
            found = registry.history(db.session, serial)
        except (DomainError, NotFound) as error:
            status, errors = error.status, {"serial": error.message}
    return render_template(
        "filings/registry.html", rows=registry.ranges(db.session, filters, limit=PAGE_SIZE),
        totals=registry.totals(db.session), given=given, serial=serial, found=found,
        errors=errors, state_names=forms.STATE_NAMES, purpose_names=forms.PURPOSE_NAMES,
    ), status  # fmt: skip


@bp.get("/registry.csv")
def registry_csv() -> Any:
    try:
        filters, _given = _page_filters()
    except DomainError as error:
        return Response(str(error.message), status=error.status, mimetype="text/plain")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    after = None
    while True:
        rows = registry.ranges(db.session, filters, after=after, limit=1000)
        for row in rows:
            writer.writerow([
                row.serial, row.units, row.state.value, row.batch_serial, row.methodology_code,
                f"{row.vintage:%Y-%m}", safe_cell(row.holder or ""),
                row.purpose.value if row.purpose else "", row.certificate or "",
                row.sale_id or "", row.changed_at.isoformat(),
            ])  # fmt: skip
        if len(rows) < 1000:
            break
        after = rows[-1].id
    return Response(
        buffer.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="tanpuhui-registry.csv"'},
    )  # fmt: skip
