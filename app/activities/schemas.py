"""What partners, residents and the bureau send and see of activities, partners and links."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for

from app.activities import reasons
from app.activities.ingest import AwareIsoDateTime
from app.activities.kinds import kind_name
from app.activities.models import ActivityStatus
from app.api.fields import StrictBoolean
from app.api.ids import Id
from app.api.multipart import File


class ActivityReasonOut(ma.Schema):
    code = ma.fields.String()
    severity = ma.fields.String(
        metadata={
            "description": "reject, flag, info (why it earns nothing or less: no reduction, a "
            "cap) or (validation) absent"
        }
    )
    field = ma.fields.String(allow_none=True)
    message = ma.fields.String()


class ActivityItemResultOut(ma.Schema):
    index = ma.fields.Integer(metadata={"description": "Position of the item in the batch"})
    external_id = ma.fields.String(allow_none=True)
    result = ma.fields.String(metadata={"description": "accepted, duplicate or rejected"})
    status = ma.fields.String(
        metadata={
            "description": "held, verified, flagged, rejected, no_reduction (quantified: it "
            "avoided nothing, so it earns nothing and no points are issued) or expired (not for "
            "rejected)"
        }
    )
    activity_id = ma.fields.Integer()
    duplicate_of_index = ma.fields.Integer(
        metadata={"description": "The earlier item of the same batch with this external id"}
    )
    reasons = ma.fields.List(ma.fields.Nested(ActivityReasonOut))


class ActivityBatchOut(ma.Schema):
    message_id = ma.fields.String(metadata={"description": "The webhook-id answered"})
    received = ma.fields.Integer()
    accepted = ma.fields.Integer()
    duplicate = ma.fields.Integer()
    rejected = ma.fields.Integer()
    results = ma.fields.List(ma.fields.Nested(ActivityItemResultOut))


class ActivityStatusIn(ma.Schema):
    external_ids = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=128)),
        required=True,
        validate=ma.validate.Length(min=1, max=5_000),
    )


class ActivityStatusItemOut(ma.Schema):
    external_id = ma.fields.String()
    found = ma.fields.Boolean()
    status = ma.fields.String(
        metadata={
            "description": "held, verified, flagged, rejected, no_reduction (it avoided nothing: "
            "no points) or expired; the reasons say why"
        }
    )
    activity_id = ma.fields.Integer()
    reasons = ma.fields.List(ma.fields.Nested(ActivityReasonOut))


class ActivityStatusOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ActivityStatusItemOut))


# --- residents ------------------------------------------------------------------------------


class IdentifierLinkIn(ma.Schema):
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={
            "description": "An identifier kind an installed methodology declares "
            "(GET /api/v1/methodologies shows each kind's identifier)"
        },
    )
    identifier = ma.fields.String(
        required=True,
        load_only=True,
        metadata={"description": "Card, account or meter number; only its keyed hash is kept"},
    )
    label = ma.fields.String(load_default=None)


class IdentifierLinkOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(attribute="identifier_kind")
    label = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class ConsentOut(ma.Schema):
    """A consent given (or refused) and, if so, when it was withdrawn (the history stays
    whole)."""

    id = ma.fields.Integer(required=True)
    purpose = ma.fields.String(
        required=True, metadata={"description": "privacy_notice or data_partner"}
    )
    action = ma.fields.String(
        required=True,
        metadata={"description": "granted, or declined (a partner's later request refused)"},
    )
    channel = ma.fields.String(required=True, metadata={"description": "web or api"})
    notice_version = ma.fields.String(allow_none=True, required=True)
    partner = ma.fields.String(attribute="partner_name", allow_none=True, required=True)
    identifier_kind = ma.fields.String(allow_none=True, required=True)
    link_label = ma.fields.String(allow_none=True, required=True)
    sends = ma.fields.List(
        ma.fields.String(),
        allow_none=True,
        required=True,
        metadata={"description": "Activity kinds the partner sends for this identifier kind"},
    )
    given_at = ma.fields.AwareDateTime(attribute="created_at", required=True)
    withdrawn_at = ma.fields.AwareDateTime(allow_none=True, required=True)


class ConsentRequestOut(ma.Schema):
    """A partner asking for consent to a linked identifier it began reporting after the link."""

    link_id = ma.fields.Integer(required=True)
    link_label = ma.fields.String(allow_none=True, required=True)
    identifier_kind = ma.fields.String(required=True)
    partner_id = ma.fields.Integer(required=True)
    partner = ma.fields.String(required=True)
    sends = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Activity kinds the partner sends for this identifier kind"},
    )
    waiting = ma.fields.Integer(
        required=True, metadata={"description": "Its records held for the link until you answer"}
    )


class ConsentAnswerIn(ma.Schema):
    link_id = Id(required=True, strict=True)
    partner_id = Id(required=True, strict=True)
    agree = StrictBoolean(
        required=True, metadata={"description": "true: consent; false: decline the partner"}
    )


class ConsentAnswerOut(ma.Schema):
    consent_id = ma.fields.Integer(required=True)
    action = ma.fields.String(required=True, metadata={"description": "granted or declined"})
    partner = ma.fields.String(required=True)
    sends = ma.fields.List(ma.fields.String(), required=True)
    credited_held = ma.fields.Integer(
        required=True, metadata={"description": "Held records now sent through (granted)"}
    )
    purged_held = ma.fields.Integer(
        required=True, metadata={"description": "Held records deleted (declined)"}
    )


class IdentifierLinkCreatedOut(IdentifierLinkOut):
    credited_held = ma.fields.Integer(
        metadata={"description": "Held activities for this identifier now sent through"}
    )


class SelfReportIn(ma.Schema):
    """A self-report as multipart/form-data: what, when, its quantities as fields, the receipt.

    The quantities are form fields named as the kind's methodology declares them (its
    ``self_report.fields`` in GET /api/v1/methodologies); only those are read, and the
    methodology checks their values. Other parts (a form's csrf_token, say) are ignored.
    """

    class Meta:
        unknown = ma.INCLUDE

    kind = ma.fields.String(
        required=True,
        metadata={
            "description": "An activity kind whose methodology allows self-reports "
            "(GET /api/v1/methodologies)"
        },
    )
    occurred_at = AwareIsoDateTime(
        required=True, metadata={"description": "When it happened, ISO 8601 with offset"}
    )
    evidence = File(
        load_default=None,
        metadata={"description": "Receipt or screenshot: JPEG, PNG or PDF, at most 5 MB"},
    )


def _reasons(row: Any) -> list[dict[str, str]]:
    return reasons.rendered(row.reasons or [])


class ResidentActivityOut(ma.Schema):
    """An activity as its participant sees it: no partner internals, no identifier hashes."""

    id = ma.fields.Integer()
    kind = ma.fields.String()
    kind_name = ma.fields.Function(lambda row: kind_name(row.kind))
    source = ma.fields.Function(lambda row: row.source.value)
    occurred_at = ma.fields.AwareDateTime()
    status = ma.fields.Enum(ActivityStatus, by_value=True)
    quantities = ma.fields.Dict()
    reduction_g = ma.fields.Integer(allow_none=True, metadata={"description": "Grams CO2e"})
    credited_g = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Grams CO2e credited after the methodology's caps"},
    )
    capped_g = ma.fields.Integer(
        metadata={"description": "Grams CO2e the methodology's cap held back"}
    )
    cap = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The cap that held grams back: methodology_daily or methodology_monthly"
        },
    )
    points = ma.fields.Integer(allow_none=True, metadata={"description": "Points issued"})
    budget_points = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Points the city's monthly points budget could not cover"},
    )
    budget_action = ma.fields.String(
        allow_none=True,
        metadata={
            "enum": ["deferred", "scaled", None],
            "description": "deferred: issued later from the next months' budgets; scaled: the "
            "month's last credits were scaled down pro rata and these points are not issued",
        },
    )
    released_points = ma.fields.Integer(
        allow_none=True, metadata={"description": "Of the deferred points, issued since"}
    )
    reasons = ma.fields.Function(_reasons)
    review_note = ma.fields.String(allow_none=True)
    detail_url = ma.fields.Function(
        lambda row: url_for("my_activity_api.my_activity", activity_id=row.id),
        metadata={"description": "The activity in full: its calculation, caps and filing"},
    )


class ActivityReviewItemOut(ResidentActivityOut):
    """An activity in the review queue, as a bureau reviewer sees it."""

    class Meta:
        exclude = ("detail_url",)

    participant_id = ma.fields.Integer()
    partner_id = ma.fields.Integer(allow_none=True)
    external_id = ma.fields.String(allow_none=True)
    evidence_url = ma.fields.String(allow_none=True)
    evidence_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class ActivityReviewArgs(ma.Schema):
    kind = ma.fields.String(load_default=None)
    reason = ma.fields.String(load_default=None, metadata={"description": "A check's code"})
    source = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf(("partner", "self_report"))
    )
    partner_id = Id(load_default=None)
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))
    cursor = ma.fields.String(load_default=None)


class ReviewDecisionIn(ma.Schema):
    activity_ids = ma.fields.List(Id(), required=True, validate=ma.validate.Length(min=1, max=500))
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(("approve", "reject")))
    note = ma.fields.String(
        load_default="", metadata={"description": "Required to reject: the resident reads it"}
    )


class ReviewDecisionOut(ma.Schema):
    approved = ma.fields.List(ma.fields.Integer())
    rejected = ma.fields.List(ma.fields.Integer())
    not_credited = ma.fields.List(
        ma.fields.Integer(),
        metadata={"description": "Approved but refused by a rule (already credited, say)"},
    )


# --- bureau: partners -----------------------------------------------------------------------


class DataPartnerIn(ma.Schema):
    name = ma.fields.String(required=True)
    allowed_kinds = ma.fields.List(ma.fields.String(), required=True)


class DataPartnerKindsIn(ma.Schema):
    allowed_kinds = ma.fields.List(ma.fields.String(), required=True)


class PartnerKeyOut(ma.Schema):
    key_id = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    revoked_at = ma.fields.AwareDateTime(allow_none=True)


class DataPartnerOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    allowed_kinds = ma.fields.List(ma.fields.String())
    created_at = ma.fields.AwareDateTime()
    keys = ma.fields.List(ma.fields.Nested(PartnerKeyOut))


class PartnerIssuedKeyOut(ma.Schema):
    partner_id = ma.fields.Integer()
    key_id = ma.fields.String()
    secret = ma.fields.String(
        metadata={"description": "The whsec_ signing secret: shown this once, never again"}
    )


class DataPartnerCreatedOut(DataPartnerOut):
    key = ma.fields.Nested(PartnerIssuedKeyOut)
