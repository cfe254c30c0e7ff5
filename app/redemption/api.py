"""JSON API for redemption: the resident's QR token and its status, the counter, settlement."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_login import current_user
from flask_smorest import Blueprint

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.api.pagination import PageArgs, page_schema
from app.context import (
    city_zone,
    current_manager,
    current_staff,
    reward_types,
    token_key,
)
from app.db import db
from app.error_handlers import keeping_writes
from app.ledger import services as ledger
from app.merchants.services import visible_store_ids
from app.redemption import (
    qr,
    schemas,
    self_service,
    services,
    settlement,
    voucher_use,
    vouchers,
)
from app.redemption.code_limits import counting_failed_codes, qr_token_limit, typed_code_limits
from app.redemption.models import Redemption

blp = Blueprint(
    "redemption_api", __name__, url_prefix="/api/v1", description="Redemption by QR code"
)


def token_body(issued: services.IssuedToken) -> dict[str, Any]:
    """The resident's QR token as the page and the API hand it out."""
    return {
        "token_id": issued.id,
        "token": issued.signed,
        "code": issued.code,
        "expires_at": issued.expires_at,
        "expires_in": max(0, int((issued.expires_at - clock.now()).total_seconds())),
        "svg": qr.svg(issued.signed),
    }


def issue_for_current_holder(offer_id: int) -> services.IssuedToken:
    return services.issue_token(
        db.session,
        holder_id=current_user.id,
        offer_id=offer_id,
        now=clock.now(),
        lifetime_seconds=current_app.config["REDEMPTION_TOKEN_SECONDS"],
        key=token_key(),
        zone=city_zone(),
    )


def status_body(status: services.TokenStatus, holder_id: int) -> dict[str, Any]:
    """What the resident's page shows: the outcome, the benefit, the new balance."""
    locale = str(get_locale() or "zh")
    redemption = None
    if status.redemption is not None:
        redemption = holder_redemption(status.redemption, locale)
    return {
        "state": status.state,
        "token_id": status.token_id,
        "reason": status.reason,
        "message": services.message_for_holder(status),
        "replays": status.replays,
        "redemption": redemption,
        "balance": ledger.balance(db.session, holder_id),
    }


def holder_redemption(redemption: Redemption, locale: str) -> dict[str, Any]:
    fulfilment = redemption.fulfilment
    return {
        "id": redemption.id,
        "points": redemption.points,
        "status": redemption.status.value,
        "confirmed_at": redemption.confirmed_at,
        "fulfilment": {
            "code": fulfilment["code"],
            "instructions": fulfilment["instructions"]["zh" if locale.startswith("zh") else "en"],
            "valid_until": fulfilment["valid_until"],
        },
    }


@blp.post("/wallet/offers/<int:offer_id>/tokens")
@requires(Permission.USE_WALLET)
@blp.response(201, schemas.QrTokenOut)
@qr_token_limit
def issue_token(offer_id: int) -> dict[str, Any]:
    """A fresh QR token for an offer, valid a minute; earlier ones stay valid until they expire."""
    return token_body(issue_for_current_holder(offer_id))


@blp.post("/wallet/offers/<int:offer_id>/redemptions")
@requires(Permission.USE_WALLET)
@blp.response(201, schemas.HolderRedemptionOut)
def redeem_in_wallet(offer_id: int) -> dict[str, Any]:
    """Redeem a bank's reward in the wallet, at no counter; the bank is told by webhook.

    Only offers of a self-service reward type (``bank_reward``); others answer 409.
    """
    redemption = self_service.redeem_in_wallet(
        db.session,
        holder_id=current_user.id,
        offer_id=offer_id,
        now=clock.now(),
        key=token_key(),
        zone=city_zone(),
        reward_types=reward_types(),
    )
    return holder_redemption(redemption, str(get_locale() or "zh"))


@blp.get("/wallet/offers/<int:offer_id>/redemption-status")
@requires(Permission.USE_WALLET)
@blp.arguments(schemas.StatusArgs(), location="query")
@blp.response(200, schemas.StatusOut)
def redemption_status(args: dict[str, Any], offer_id: int) -> dict[str, Any]:
    """What became of the tokens shown for this offer since ``since``: poll it every few seconds."""
    status = services.status_for_holder(
        db.session, holder_id=current_user.id, offer_id=offer_id, since_token_id=args["since"]
    )
    return status_body(status, current_user.id)


@blp.post("/merchant/redemptions/preview")
@requires(Permission.MERCHANT_COUNTER)
@blp.arguments(schemas.TokenIn())
@blp.response(200, schemas.PreviewOut)
@typed_code_limits
def preview(data: dict[str, Any]) -> services.Preview:
    """What confirming this token would redeem; nothing is written and the token stays live.

    Typed codes that match no QR code are limited per staff account and per merchant (429).
    """
    with counting_failed_codes(data["token"]):
        return services.preview(
            db.session,
            current_staff(),
            data["token"],
            store_id=data["store_id"],
            now=clock.now(),
            key=token_key(),
            zone=city_zone(),
        )


@blp.post("/merchant/redemptions")
@requires(Permission.MERCHANT_COUNTER)
@blp.arguments(schemas.TokenIn())
@blp.response(201, schemas.ConfirmedOut)
@typed_code_limits
def confirm(data: dict[str, Any]) -> services.Confirmed:
    """Confirm a redemption: the token is spent whatever the outcome; points move on success.

    The offer must be valid at the counter's store (``store_id``, needed when the caller works
    at several).
    """
    with keeping_writes(), counting_failed_codes(data["token"]):
        return services.confirm(
            db.session,
            current_staff(),
            data["token"],
            store_id=data["store_id"],
            now=clock.now(),
            key=token_key(),
            zone=city_zone(),
            reward_types=reward_types(),
        )


@blp.post("/merchant/vouchers/use")
@requires(Permission.MERCHANT_COUNTER)
@blp.arguments(schemas.VoucherUseIn())
@blp.response(200, schemas.VoucherUsedOut)
def use_voucher(data: dict[str, Any]) -> Redemption:
    """Report a voucher used by the merchant's gate or till: once only (409 after), with its
    code; the merchant's webhooks are told (``voucher.used``)."""
    return voucher_use.use_voucher(
        db.session,
        current_actor(),
        current_staff(),
        redemption_id=data["redemption_id"],
        code=data["code"],
        now=clock.now(),
    )


@blp.get("/merchant/redemptions")
@requires(Permission.MERCHANT_COUNTER)
@blp.response(200, schemas.MerchantRedemptionOut(many=True))
def recent() -> list[Redemption]:
    """The merchant's latest 50 redemptions, newest first (a cashier's: of their stores only)."""
    staff = current_staff()
    store_ids = visible_store_ids(db.session, staff)
    return [
        row.Redemption
        for row in services.recent_redemptions(db.session, staff.merchant_id, store_ids=store_ids)
    ]


@blp.post("/merchant/redemptions/<int:redemption_id>/reversal")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.ReversalIn())
@blp.response(200, schemas.MerchantRedemptionOut)
def reverse(data: dict[str, Any], redemption_id: int) -> Redemption:
    """Reverse a redemption within 24 hours (managers only): points and stock come back."""
    return services.reverse(
        db.session,
        current_actor(),
        current_manager(),
        redemption_id,
        reason=data["reason"],
        now=clock.now(),
    )


def _month(args: dict[str, Any]) -> Any:
    return settlement.parse_month(args["month"], today=clock.now().astimezone(city_zone()).date())


@blp.get("/merchant/settlement")
@requires(Permission.MERCHANT_COUNTER)
@blp.arguments(schemas.MonthArgs(), location="query")
@blp.response(200, schemas.StatementOut)
def merchant_statement(args: dict[str, Any]) -> settlement.Statement:
    """The caller's merchant's statement for a month (default: this month); a cashier's holds
    the lines and totals of their own stores only."""
    staff = current_staff()
    stmt = settlement.statement(
        db.session,
        staff.merchant_id,
        _month(args),
        zone=city_zone(),
        yuan_per_point=current_app.config["YUAN_PER_POINT_SUBSIDY"],
    )
    return settlement.for_stores(stmt, visible_store_ids(db.session, staff))


@blp.get("/bureau/settlement")
@requires(Permission.BUREAU_CONSOLE)
@blp.arguments(schemas.MonthArgs(), location="query")
@blp.response(200, schemas.StatementTotalsOut(many=True))
def all_statements(args: dict[str, Any]) -> list[settlement.Statement]:
    """Every merchant's totals for a month, for the bureau's payment run."""
    return settlement.statements(
        db.session,
        _month(args),
        zone=city_zone(),
        yuan_per_point=current_app.config["YUAN_PER_POINT_SUBSIDY"],
    )


@blp.get("/me/vouchers")
@requires(Permission.USE_WALLET)
@blp.arguments(PageArgs(), location="query")
@blp.response(200, page_schema(schemas.VoucherOut, "VoucherPage"))
def my_vouchers(args: dict[str, Any]) -> dict[str, Any]:
    """Every voucher the resident received, newest first: the code to show, where, until when."""
    return vouchers.vouchers_page(
        db.session, current_user.id, now=clock.now(), cursor=args["cursor"], limit=args["limit"]
    )
