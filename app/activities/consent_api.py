"""JSON API: a resident's consents to data partners, withdrawing one, and answering a partner
that began reporting their kind of card, account or meter after they linked it."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint

from app import context as edge
from app.accounts import consents as account_consents
from app.accounts.auth import requires
from app.accounts.roles import Permission
from app.activities import consents, links, schemas
from app.db import db

blp = Blueprint(
    "my_consents_api",
    __name__,
    url_prefix="/api/v1/me/consents",
    description="My consents: the privacy notice and each data partner",
)


def _consent(state: account_consents.ConsentState) -> dict[str, Any]:
    grant = state.grant
    return {
        "id": grant.id, "purpose": grant.purpose.value, "action": grant.action.value,
        "channel": grant.channel,
        "notice_version": grant.notice_version, "partner_name": grant.partner_name,
        "identifier_kind": grant.identifier_kind, "link_label": grant.link_label,
        "sends": grant.sends, "created_at": grant.created_at,
        "withdrawn_at": state.withdrawal.created_at if state.withdrawal else None,
    }  # fmt: skip


@blp.get("")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.ConsentOut(many=True))
def my_consents() -> list[dict[str, Any]]:
    """The consents I gave (the privacy notice, each data partner), newest first."""
    return [_consent(state) for state in account_consents.consents_of(db.session, current_user.id)]


@blp.post("/<int:consent_id>/withdraw")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.ConsentOut)
def withdraw_consent(consent_id: int) -> dict[str, Any]:
    """Withdraw a data partner's consent: its records for the identifier are no longer credited,
    and those still held for it are purged. 409 when already withdrawn."""
    withdrawal = account_consents.withdraw(db.session, current_user.id, consent_id, channel="api")
    consents.purge_held_for(db.session, withdrawal, edge.pipeline_settings().now)
    (state,) = [
        state
        for state in account_consents.consents_of(db.session, current_user.id)
        if state.grant.id == consent_id
    ]
    return _consent(state)


@blp.get("/requests")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.ConsentRequestOut(many=True))
def consent_requests() -> list[dict[str, Any]]:
    """Partners that began reporting a kind of identifier I linked (or send more than I agreed
    to): nothing they send for it is credited until I agree; it waits meanwhile."""
    return [
        {
            "link_id": ask.link.id,
            "link_label": ask.link.label,
            "identifier_kind": ask.link.identifier_kind,
            "partner_id": ask.partner.partner_id,
            "partner": ask.partner.name,
            "sends": ask.partner.sends,
            "waiting": ask.waiting,
        }
        for ask in consents.asks(db.session, current_user.id, edge.methodologies())
    ]


@blp.post("/requests")
@requires(Permission.USE_WALLET)
@blp.arguments(schemas.ConsentAnswerIn())
@blp.response(200, schemas.ConsentAnswerOut)
def answer_request(data: dict[str, Any]) -> dict[str, Any]:
    """Agree (what the partner sent meanwhile is credited, once) or decline (it is deleted and
    nothing more from the partner is kept for the link). 404 for a link or partner not asking;
    409 when already answered."""
    answer = links.answer_partner(
        db.session, current_user.id, data["link_id"], data["partner_id"], agree=data["agree"],
        channel="api", settings=edge.pipeline_settings(),
    )  # fmt: skip
    return {
        "consent_id": answer.consent.id,
        "action": answer.consent.action.value,
        "partner": answer.consent.partner_name,
        "sends": answer.consent.sends,
        "credited_held": len(answer.released),
        "purged_held": answer.purged,
    }
