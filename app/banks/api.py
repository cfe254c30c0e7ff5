"""JSON API: the bureau registers banks; holders see and revoke their grants and fetch their own
signed statement; banks read what a grant lets them (OAuth 2.0 bearer tokens)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask_login import current_user
from flask_smorest import Blueprint

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.models import User
from app.accounts.roles import Permission
from app.banks import carbon, oauth, schemas, services, statements
from app.banks import scopes as scope_catalogue
from app.banks.models import BankClient, BankGrant, BankToken
from app.context import city_zone
from app.db import db

blp = Blueprint("banks_api", __name__, url_prefix="/api/v1", description="Financial partners")
bank_blp = Blueprint(
    "consented_api",
    __name__,
    url_prefix="/api/v1/consented",
    description="What a bank reads with the holder's consent (OAuth 2.0)",
)


def _oauth(scope: str) -> list[dict[str, list[str]]]:
    return [{"bankOAuth": [scope]}]


@blp.get("/bureau/banks")
@requires(Permission.MANAGE_PARTNERS)
@blp.response(200, schemas.BankClientOut(many=True))
def list_banks() -> list[Any]:
    """Financial partners registered as OAuth 2.0 clients."""
    return services.clients(db.session)


@blp.post("/bureau/banks")
@requires(Permission.MANAGE_PARTNERS)
@blp.arguments(schemas.BankClientIn())
@blp.response(201, schemas.RegisteredBankOut)
def register_bank(data: dict[str, Any]) -> dict[str, Any]:
    """Register a financial partner (audited); its client secret is in this answer only."""
    return _with_secret(services.register_client(db.session, current_actor(), **data))


@blp.post("/bureau/banks/<int:bank_id>/secret")
@requires(Permission.MANAGE_PARTNERS)
@blp.response(201, schemas.RegisteredBankOut)
def rotate_bank_secret(bank_id: int) -> dict[str, Any]:
    """Issue the bank a new client secret (audited). The new secret is in this answer only (the
    platform keeps its SHA-256); the old secret stops working at once. Tokens already issued
    keep working (switch the bank off to end them)."""
    return _with_secret(services.rotate_secret(db.session, current_actor(), bank_id))


@blp.patch("/bureau/banks/<int:bank_id>")
@requires(Permission.MANAGE_PARTNERS)
@blp.arguments(schemas.BankActiveIn())
@blp.response(200, schemas.BankClientOut)
def set_bank_active(data: dict[str, Any], bank_id: int) -> BankClient:
    """Switch a bank off or back on (audited). While off, the authorize and token endpoints
    refuse it (`invalid_client`); switching off revokes its access and refresh tokens and
    unused codes, and switching on revives none of them. Holders' grants stay, so after
    switching on the bank needs a new code, not a new consent."""
    return services.set_active(
        db.session, current_actor(), bank_id, active=data["is_active"], now=clock.now()
    )


def _with_secret(issued: services.RegisteredClient) -> dict[str, Any]:
    """The bank as listed, with the client secret shown this once."""
    shown = (
        "id", "client_id", "name", "logo_uri", "redirect_uris", "scopes", "merchant_id",
        "created_at", "is_active", "disabled_at",
    )  # fmt: skip
    return {field: getattr(issued.client, field) for field in shown} | {
        "client_secret": issued.client_secret
    }


@blp.get("/me/authorised-apps")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.AuthorisedAppOut(many=True))
def authorised_apps() -> list[BankGrant]:
    """The banks the caller lets read their record now."""
    return services.authorised_apps(db.session, current_user.id, clock.now())


@blp.delete("/me/authorised-apps/<int:grant_id>")
@requires(Permission.USE_WALLET)
@blp.response(204)
def revoke_app(grant_id: int) -> None:
    """Withdraw a grant: the bank's tokens stop working at once (audited)."""
    services.revoke_grant(
        db.session, current_actor(), holder_id=current_user.id, grant_id=grant_id, now=clock.now()
    )


def _statement(holder: User, period: dict[str, date]) -> dict[str, Any]:
    db.writing()  # the first statement makes the first signing key
    now = clock.now()
    body = carbon.statement_body(
        db.session, holder.id, start=period["start"], end=period["end"], zone=city_zone()
    )
    claims = statements.claims_for(
        body,
        issuer=request.url_root.rstrip("/"),
        holder_id=holder.id,
        holder_name=holder.display_name,
        holder_role=holder.role.value,
        issued_at=now,
    )
    return {"statement": statements.sign(db.session, claims, now), "claims": claims}


@blp.get("/me/carbon-statement")
@requires(Permission.USE_WALLET)
@blp.arguments(schemas.PeriodArgs(), location="query")
@blp.response(200, schemas.CarbonStatementOut)
def my_statement(period: dict[str, date]) -> dict[str, Any]:
    """The caller's verified reductions for whole months, signed by the platform (JWS)."""
    holder = db.session.get(User, current_user.id)
    assert holder is not None
    return _statement(holder, period)


def _holder() -> User:
    token: BankToken = oauth.current_token()
    holder = db.session.get(User, token.grant.user_id)
    assert holder is not None
    return holder


@bank_blp.get("/carbon-summary")
@oauth.require_oauth(scope_catalogue.CARBON_SUMMARY)
@bank_blp.response(200, schemas.CarbonSummaryOut)
@bank_blp.doc(security=_oauth(scope_catalogue.CARBON_SUMMARY))
def carbon_summary() -> carbon.Summary:
    """The holder's points balance and kilograms CO2e avoided in each of the last 12 months."""
    zone = city_zone()
    today = clock.local_date(clock.now(), zone)
    return carbon.summary(db.session, _holder().id, today=today, zone=zone)


@bank_blp.get("/carbon-statement")
@oauth.require_oauth(scope_catalogue.CARBON_STATEMENT)
@bank_blp.arguments(schemas.PeriodArgs(), location="query")
@bank_blp.response(200, schemas.CarbonStatementOut)
@bank_blp.doc(security=_oauth(scope_catalogue.CARBON_STATEMENT))
def carbon_statement(period: dict[str, date]) -> dict[str, Any]:
    """The holder's verified reductions by month and kind, signed (JWS); no trip details."""
    return _statement(_holder(), period)


@bank_blp.get("/organisation-performance")
@oauth.require_oauth(scope_catalogue.ORG_PERFORMANCE)
@bank_blp.response(200, schemas.PerformanceOut)
@bank_blp.doc(security=_oauth(scope_catalogue.ORG_PERFORMANCE))
def organisation_performance() -> carbon.Performance:
    """An organisation's verified reductions over 12 months and the trend of the last quarter."""
    zone = city_zone()
    today = clock.local_date(clock.now(), zone)
    return carbon.performance(db.session, _holder().id, today=today, zone=zone)
