"""JSON API: the partners' signed batch endpoints, residents' links and activities, the bureau's
partners and review queue."""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
import psycopg
import sqlalchemy as sa
from apispec import APISpec
from flask import Response, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint

from app import clock
from app import context as edge
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.activities import (
    ingest,
    links,
    messages,
    partners,
    queries,
    review,
    schemas,
    self_reports,
    signatures,
)
from app.activities.ingest import ActivityItemIn
from app.activities.kinds import KindCatalogue
from app.api.multipart import LOCATION as MULTIPART
from app.api.multipart import MultipartBlueprint
from app.api.pagination import PageArgs, page_schema
from app.db import db
from app.errors import Conflict, DomainError
from app.extensions import ErrorSchema

SIGNED = [{"partnerKey": [], "webhookSignature": []}]
_SIGNING = (
    "Signed with [Standard Webhooks](https://www.standardwebhooks.com/): send `X-Partner-Key` "
    "(your key id), `webhook-id` (unique per message), `webhook-timestamp` (seconds since 1970, "
    "within 300 s of the server's clock) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of "
    "`id.timestamp.body` under your `whsec_` secret). Any Standard Webhooks library signs this. "
    "A reused `webhook-id` is answered with the first answer (header `Idempotent-Replayed`)."
)

partner_blp = Blueprint(
    "partner_api", __name__, url_prefix="/api/v1/partner", description="Data partners: activities"
)
me_blp = MultipartBlueprint(
    "my_activities_api",
    __name__,
    url_prefix="/api/v1/me",
    description="My activities, self-reports and links",
)
bureau_blp = Blueprint(
    "activities_bureau_api",
    __name__,
    url_prefix="/api/v1/bureau",
    description="Data partners and the review queue",
)


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ErrorSchema}}}


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _json(text: str, status: int = 200, **headers: str) -> Response:
    return Response(text, status=status, mimetype="application/json", headers=headers)


def _verified_sender(body: bytes) -> signatures.Sender:
    return signatures.verify(
        db.session,
        request.headers,
        body,
        now=clock.now(),
        tolerance_seconds=current_app.config["PARTNER_TIMESTAMP_TOLERANCE_SECONDS"],
        secret_key=current_app.config["SECRET_KEY"],
    )


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise DomainError("invalid_json", _l("The body is not valid JSON."), status=400) from None


#: The OpenAPI component of a partner batch, and the prefix of each kind's item component.
BATCH = "PartnerActivityBatch"
ITEM = "PartnerItem"
_ITEM_PREFIX = "PartnerItem_"


def document_partner_items(spec: APISpec, catalogue: KindCatalogue) -> None:
    """Describe the partner item of every installed kind in the OpenAPI document: one schema per
    kind (its declared quantities, units and bounds, its identifier), chosen by ``kind``."""
    if "ActivityItemIn" not in spec.components.schemas:
        spec.components.schema("ActivityItemIn", schema=ActivityItemIn)
    mapping = {}
    for code, kind in sorted(catalogue.kinds.items()):
        name = f"{_ITEM_PREFIX}{code}"
        spec.components.schema(
            name,
            {
                "title": f"{kind.name.en} ({kind.name.zh})",
                "description": f"{kind.description.en} The identifier is a "
                f"{kind.identifier.name.en} ({kind.identifier.code}).",
                "allOf": [
                    {"$ref": "#/components/schemas/ActivityItemIn"},
                    {
                        "type": "object",
                        "properties": {
                            "kind": {"const": code},
                            "identifier": {
                                "type": "string",
                                "description": kind.identifier.name.en,
                                "x-identifier-kind": kind.identifier.code,
                            },
                            "quantities": kind.item_json_schema(),
                        },
                    },
                ],
            },
        )
        mapping[code] = f"#/components/schemas/{name}"
    item: dict[str, Any] = {"$ref": "#/components/schemas/ActivityItemIn"}
    if mapping:
        item = {
            "oneOf": [{"$ref": ref} for ref in mapping.values()],
            "discriminator": {"propertyName": "kind", "mapping": mapping},
        }
    spec.components.schema(ITEM, {"description": "One activity, by its kind", **item})
    # The batch takes any items: each is judged on its own and answered by index in the 200
    # answer, so an item that breaks its kind's schema is a rejected result, not a refused batch.
    spec.components.schema(
        BATCH,
        {
            "type": "object",
            "required": ["activities"],
            "properties": {
                "activities": {
                    "type": "array",
                    "description": f"At most 5,000 items, each an object as {ITEM} "
                    "(components/schemas: one schema per installed kind, chosen by `kind`). Each "
                    "item is checked on its own: one that does not match its kind's schema is "
                    "rejected in the 200 answer with its reasons, by index; the others are "
                    "ingested. Other keys are ignored",
                    "items": {},
                }
            },
        },
    )


@partner_blp.post("/activities")
@partner_blp.doc(
    security=SIGNED,
    description=_SIGNING,
    requestBody={
        "required": True,
        # Generated at start-up from the installed methodologies: see document_partner_items.
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{BATCH}"}}},
    },
    responses={
        "200": {
            "description": "Every item's result, by index",
            "content": {"application/json": {"schema": schemas.ActivityBatchOut}},
        },
        "401": _error("Unknown or revoked key, stale timestamp or bad signature"),
        "409": _error("A concurrent request holds some of these activities: resend"),
        "413": _error("More than 5,000 activities, or a body over the size limit"),
    },
)
def post_activities() -> Response:
    """Send up to 5,000 activities; each (partner, external_id) is ingested once."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise DomainError("too_large", _l("The request is too large."), status=413)
    body = request.get_data(cache=False)
    sender = _verified_sender(body)
    claim = messages.claim(db.session, sender.partner_id, sender.message_id)
    if claim is None:
        status, answer = messages.first_answer(db.session, sender.partner_id, sender.message_id)
        return _json(answer, status, **{"Idempotent-Replayed": "true"})
    payload = _parse(body)
    try:
        answer = ingest.ingest_batch(db.session, sender, payload, edge.ingest_settings())
    except (sa.exc.IntegrityError, psycopg.errors.UniqueViolation) as error:
        raise Conflict(
            "concurrent_batch",
            _l("Another request is ingesting some of these activities right now; send again."),
        ) from error
    text = _dumps(answer)
    messages.record_answer(db.session, claim, 200, text)
    return _json(text)


@partner_blp.post("/activities/status")
@partner_blp.doc(
    security=SIGNED,
    description="Where each of your activities stands, by external id. " + _SIGNING,
    requestBody={
        "required": True,
        "content": {"application/json": {"schema": schemas.ActivityStatusIn}},
    },
    responses={
        "200": {
            "description": "One item per external id, in the order sent",
            "content": {"application/json": {"schema": schemas.ActivityStatusOut}},
        }
    },
)
def activity_status() -> Response:
    """Reconcile: the status (and reasons) of up to 5,000 activities you sent."""
    body = request.get_data(cache=False)
    sender = _verified_sender(body)
    try:
        data = schemas.ActivityStatusIn().load(_parse(body))
    except ma.ValidationError as error:
        raise DomainError(
            "invalid_body", _l("Send a JSON object with an external_ids list."), status=422,
            errors=error.messages if isinstance(error.messages, dict) else None,
        ) from None  # fmt: skip
    return _json(_dumps(ingest.statuses(db.session, sender.partner_id, data["external_ids"])))


# --- residents ----------------------------------------------------------------------------------


@me_blp.get("/activities")
@requires(Permission.USE_WALLET)
@me_blp.arguments(PageArgs(), location="query")
@me_blp.response(200, page_schema(schemas.ResidentActivityOut, "MyActivityPage"))
def my_activities(page: dict[str, Any]) -> dict[str, Any]:
    """My activities, newest first: status, reduction, points, and why when not credited."""
    return queries.participant_page(db.session, current_user.id, **page)


@me_blp.post("/activities")
@requires(Permission.USE_WALLET)
@me_blp.arguments(schemas.SelfReportIn(), location=MULTIPART)
@me_blp.response(201, schemas.ResidentActivityOut)
@me_blp.alt_response(
    413, schema=ErrorSchema, description="The file is over 5 MB, or the request over the limit"
)
@me_blp.alt_response(415, schema=ErrorSchema, description="The file is not a JPEG, PNG or PDF")
def self_report(data: dict[str, Any]) -> queries.ActivityRow:
    """Report something no partner sent, e.g. a recycling drop-off with a photo of the receipt.

    Send multipart/form-data. The activity waits for a reviewer (status `flagged`) unless a rule
    rejects it at once (status `rejected`, with its reasons); points come with the approval.
    """
    upload = data["evidence"]
    limit = current_app.config["EVIDENCE_MAX_BYTES"]
    activity = self_reports.report(
        db.session,
        current_user.id,
        kind=data["kind"],
        occurred_at=data["occurred_at"],
        quantities=self_reports.quantities_from(
            edge.kind_catalogue().kinds.get(data["kind"]), data
        ),
        evidence=upload.read(limit + 1) if upload else None,
        evidence_dir=current_app.config["EVIDENCE_DIR"],
        evidence_max_bytes=limit,
        settings=edge.pipeline_settings(),
    )
    return queries.participant_activity(db.session, current_user.id, activity.id)


@me_blp.get("/links")
@requires(Permission.USE_WALLET)
@me_blp.response(200, schemas.IdentifierLinkOut(many=True))
def my_links() -> Any:
    """The cards, accounts and meters I linked (only their kinds and my labels are kept)."""
    return links.list_links(db.session, current_user.id)


@me_blp.post("/links")
@requires(Permission.USE_WALLET)
@me_blp.arguments(schemas.IdentifierLinkIn())
@me_blp.response(201, schemas.IdentifierLinkCreatedOut)
def link_identifier(data: dict[str, Any]) -> Any:
    """Link a card, account or meter; activities held for it are credited now."""
    linked, released = links.link(
        db.session,
        current_user.id,
        kind=data["kind"],
        identifier=data["identifier"],
        label=data["label"],
        identifier_key=edge.identifier_key(),
        settings=edge.pipeline_settings(),
        channel="api",
    )
    return {
        "id": linked.id,
        "identifier_kind": linked.identifier_kind,
        "label": linked.label,
        "created_at": linked.created_at,
        "credited_held": len(released),
    }


@me_blp.delete("/links/<int:link_id>")
@requires(Permission.USE_WALLET)
@me_blp.response(204)
def unlink_identifier(link_id: int) -> None:
    """Unlink; activities already matched stay mine."""
    links.unlink(db.session, current_user.id, link_id)


# --- bureau: partners ---------------------------------------------------------------------------


def _partner_out(partner: Any, keys: list[Any]) -> dict[str, Any]:
    return {
        "id": partner.id,
        "name": partner.name,
        "allowed_kinds": partner.allowed_kinds,
        "created_at": partner.created_at,
        "keys": keys,
    }


@bureau_blp.get("/partners")
@requires(Permission.MANAGE_PARTNERS)
@bureau_blp.response(200, schemas.DataPartnerOut(many=True))
def list_partners() -> list[dict[str, Any]]:
    """Data partners with their keys (ids and dates; secrets are never shown again)."""
    return [_partner_out(p, k) for p, k in partners.list_partners(db.session)]


@bureau_blp.post("/partners")
@requires(Permission.MANAGE_PARTNERS)
@bureau_blp.arguments(schemas.DataPartnerIn())
@bureau_blp.response(201, schemas.DataPartnerCreatedOut)
def register_partner(data: dict[str, Any]) -> dict[str, Any]:
    """Register a partner and its first key; the secret is in this answer only (audited)."""
    partner, issued = partners.register_partner(
        db.session,
        current_actor(),
        name=data["name"],
        allowed_kinds=data["allowed_kinds"],
        known_kinds=edge.partner_kinds(),
        secret_key=current_app.config["SECRET_KEY"],
    )
    keys = partners.list_partners(db.session)
    own = next(k for p, k in keys if p.id == partner.id)
    return _partner_out(partner, own) | {"key": issued}


@bureau_blp.patch("/partners/<int:partner_id>")
@requires(Permission.MANAGE_PARTNERS)
@bureau_blp.arguments(schemas.DataPartnerKindsIn())
@bureau_blp.response(200, schemas.DataPartnerOut)
def set_partner_kinds(data: dict[str, Any], partner_id: int) -> dict[str, Any]:
    """Change the activity kinds a partner may send (audited)."""
    partner = partners.set_allowed_kinds(
        db.session,
        current_actor(),
        partner_id,
        allowed_kinds=data["allowed_kinds"],
        known_kinds=edge.partner_kinds(),
    )
    own = next(k for p, k in partners.list_partners(db.session) if p.id == partner.id)
    return _partner_out(partner, own)


@bureau_blp.post("/partners/<int:partner_id>/keys")
@requires(Permission.MANAGE_PARTNERS)
@bureau_blp.response(201, schemas.PartnerIssuedKeyOut)
def rotate_key(partner_id: int) -> Any:
    """A new key beside the old ones (rotation); revoke the old one when the partner switched."""
    return partners.issue_key(
        db.session, current_actor(), partner_id, secret_key=current_app.config["SECRET_KEY"]
    )


@bureau_blp.delete("/partners/<int:partner_id>/keys/<key_id>")
@requires(Permission.MANAGE_PARTNERS)
@bureau_blp.response(204)
def revoke_key(partner_id: int, key_id: str) -> None:
    """Revoke a key: it verifies nothing from now on (audited)."""
    partners.revoke_key(db.session, current_actor(), partner_id, key_id)


# --- bureau: review queue -----------------------------------------------------------------------


@bureau_blp.get("/review")
@requires(Permission.REVIEW)
@bureau_blp.arguments(schemas.ActivityReviewArgs(), location="query")
@bureau_blp.response(200, page_schema(schemas.ActivityReviewItemOut, "ActivityReviewPage"))
def review_queue(args: dict[str, Any]) -> dict[str, Any]:
    """Flagged activities waiting for a reviewer, oldest decisions last; filter by kind, check,
    source or partner."""
    limit, cursor = args.pop("limit"), args.pop("cursor")
    return queries.review_page(
        db.session, review.queue_statement(**args), limit=limit, cursor=cursor
    )


@bureau_blp.post("/review/decisions")
@requires(Permission.REVIEW)
@bureau_blp.arguments(schemas.ReviewDecisionIn())
@bureau_blp.response(200, schemas.ReviewDecisionOut)
def review_decisions(data: dict[str, Any]) -> Any:
    """Approve (credit) or reject (with a note the resident reads) one or many (audited)."""
    return review.decide(
        db.session,
        current_actor(),
        data["activity_ids"],
        approve=data["decision"] == "approve",
        note=data["note"],
        settings=edge.pipeline_settings(),
    )
