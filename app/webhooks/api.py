"""JSON API of a partner's webhooks: its endpoints, and its deliveries with their attempts."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.api.pagination import PageArgs, page_schema
from app.context import current_manager, current_staff
from app.db import db
from app.extensions import ErrorSchema
from app.webhooks import endpoints, schemas
from app.webhooks.models import WebhookEndpoint

blp = Blueprint(
    "webhooks_api", __name__, url_prefix="/api/v1", description="Outbound webhooks of partners"
)
#: The answer carries the signing secret: no cache may keep it.
NO_STORE = {"Cache-Control": "no-store"}


@blp.get("/merchant/webhooks/endpoints")
@requires(Permission.MERCHANT_COUNTER)
@blp.response(200, schemas.EndpointOut(many=True))
def list_endpoints() -> list[WebhookEndpoint]:
    """The merchant's webhook endpoints, enabled first."""
    return endpoints.endpoints_of(db.session, current_staff().merchant_id)


@blp.post("/merchant/webhooks/endpoints")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.EndpointIn())
@blp.response(201, schemas.RegisteredOut)
@blp.alt_response(409, schema=ErrorSchema, description="The merchant has its most endpoints")
def register(data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Register an endpoint (managers only, audited); its signing secret is shown this once."""
    registered = endpoints.register(
        db.session,
        current_actor(),
        merchant_id=current_manager().merchant_id,
        url=data["url"],
        event_types=data["event_types"],
        description=data["description"],
        allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_URLS"],
        now=clock.now(),
    )
    endpoint = registered.endpoint
    body = {name: getattr(endpoint, name) for name in schemas.EndpointOut().fields}
    return body | {"secret": registered.secret}, 201, NO_STORE


@blp.post("/merchant/webhooks/endpoints/<int:endpoint_id>/disable")
@requires(Permission.MERCHANT_MANAGE)
@blp.response(200, schemas.EndpointOut)
def disable(endpoint_id: int) -> WebhookEndpoint:
    """Stop sending to an endpoint (managers only, audited); its pending deliveries are given up."""
    return endpoints.disable(
        db.session,
        current_actor(),
        merchant_id=current_manager().merchant_id,
        endpoint_id=endpoint_id,
        now=clock.now(),
    )


@blp.get("/merchant/webhooks/deliveries")
@requires(Permission.MERCHANT_COUNTER)
@blp.arguments(PageArgs(), location="query")
@blp.response(200, page_schema(schemas.DeliveryOut, "WebhookDeliveryPage"))
def deliveries(page: dict[str, Any]) -> dict[str, Any]:
    """The merchant's deliveries, newest first, each with its attempts."""
    return endpoints.deliveries_page(
        db.session, current_staff().merchant_id, limit=page["limit"], cursor=page["cursor"]
    )


@blp.get("/merchant/webhooks/deliveries/<int:delivery_id>")
@requires(Permission.MERCHANT_COUNTER)
@blp.response(200, schemas.DeliveryOut)
def delivery(delivery_id: int) -> endpoints.DeliveryView:
    """One delivery with its attempts."""
    return endpoints.delivery(db.session, current_staff().merchant_id, delivery_id)
