"""What a partner sends and sees of its endpoints, deliveries and attempts."""

from __future__ import annotations

import marshmallow as ma

from app.webhooks.addresses import MAX_URL_LENGTH
from app.webhooks.endpoints import MAX_DESCRIPTION
from app.webhooks.models import EventType

EVENT_TYPES = [member.value for member in EventType]


class EndpointIn(ma.Schema):
    url = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_URL_LENGTH),
        metadata={"description": "https:// URL the deliveries are POSTed to"},
    )
    event_types = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=ma.validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata={"description": "The events to receive"},
    )
    description = ma.fields.String(
        load_default="", validate=ma.validate.Length(max=MAX_DESCRIPTION)
    )


class EndpointOut(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    description = ma.fields.String()
    event_types = ma.fields.List(ma.fields.String())
    enabled = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()
    disabled_at = ma.fields.AwareDateTime(allow_none=True)


class RegisteredOut(EndpointOut):
    secret = ma.fields.String(
        metadata={
            "description": "The Standard Webhooks signing secret (whsec_…): shown this once only"
        }
    )


class AttemptOut(ma.Schema):
    attempted_at = ma.fields.AwareDateTime()
    outcome = ma.fields.String(
        metadata={
            "description": "acknowledged, http_error, redirect, timeout, unreachable or "
            "refused_address"
        }
    )
    status_code = ma.fields.Integer(allow_none=True, metadata={"description": "HTTP status"})
    duration_ms = ma.fields.Integer()
    response_excerpt = ma.fields.String(metadata={"description": "The answer's first characters"})


class DeliveryOut(ma.Schema):
    id = ma.fields.Integer()
    event_id = ma.fields.String(metadata={"description": "Sent as webhook-id on every attempt"})
    event_type = ma.fields.String()
    endpoint_id = ma.fields.Integer()
    endpoint_url = ma.fields.String()
    status = ma.fields.String(metadata={"description": "pending, succeeded or failed"})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.AwareDateTime(allow_none=True)
    settled_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    payload = ma.fields.Dict(metadata={"description": "The JSON body sent"})
    attempt_list = ma.fields.List(ma.fields.Nested(AttemptOut), data_key="attempt_list")
