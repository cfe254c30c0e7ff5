"""Residents' pages: browse offers, open one, show its QR code at the counter, keep the vouchers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import clock
from app.accounts.auth import requires
from app.accounts.forms import EmptyForm
from app.accounts.roles import Permission
from app.api.ids import parse_id
from app.api.pagination import keyset_page
from app.context import city_zone, reward_types, token_key
from app.db import db
from app.errors import DomainError
from app.ledger import services as ledger
from app.merchants import offers
from app.merchants.models import Offer
from app.redemption import services, vouchers
from app.redemption.api import issue_for_current_holder, token_body
from app.redemption.code_limits import qr_token_limit
from app.redemption.self_service import redeem_in_wallet

bp = Blueprint("offers", __name__)


def _locale() -> str:
    return str(get_locale() or "zh")


@bp.get("/offers")
def browse() -> str:
    now = clock.now()
    types = reward_types()
    reward_type = request.args.get("reward_type") or None
    reward_type = reward_type if reward_type in types else None
    merchant_id = parse_id(request.args.get("merchant_id"))
    page = keyset_page(
        db.session,
        offers.browsable(now, reward_type=reward_type, merchant_id=merchant_id),
        Offer.id,
        limit=20,
        cursor=request.args.get("cursor"),
    )
    return render_template(
        "offers/list.html",
        page=page,
        types=types,
        merchants=offers.merchants_with_offers(db.session, now),
        reward_type=reward_type,
        merchant_id=merchant_id,
        locale=_locale(),
    )


def _balance() -> int | None:
    if current_user.is_authenticated and current_user.can(Permission.USE_WALLET):
        return ledger.balance(db.session, current_user.id)
    return None


def _blocked(offer: Offer) -> str | None:
    """Why the signed-in resident could not redeem the offer now, in words, or None."""
    if not (current_user.is_authenticated and current_user.can(Permission.USE_WALLET)):
        return None
    refusal = services.why_not_redeemable(
        db.session, current_user.id, offer, now=clock.now(), zone=city_zone()
    )
    return str(refusal.message) if refusal else None


def _self_service(offer: Offer) -> bool:
    reward_type = reward_types().get(offer.reward_type)
    return reward_type is not None and reward_type.self_service


@bp.get("/offers/<int:offer_id>")
def detail(offer_id: int) -> str:
    offer = offers.visible_offer(db.session, offer_id, clock.now())
    return render_template(
        "offers/detail.html",
        offer=offer,
        summary=offers.summary(offer, reward_types(), _locale()),
        balance=_balance(),
        blocked=_blocked(offer),
        self_service=_self_service(offer),
        redeem_form=EmptyForm(),
    )


@bp.post("/offers/<int:offer_id>/redeem")
@requires(Permission.USE_WALLET)
def redeem(offer_id: int) -> Any:
    """Redeem a bank's reward in the wallet; the voucher is then under My vouchers."""
    offer = offers.visible_offer(db.session, offer_id, clock.now())
    try:
        if not EmptyForm().validate_on_submit():
            raise DomainError("form_expired", _l("The form expired: try again."))
        redeem_in_wallet(
            db.session,
            holder_id=current_user.id,
            offer_id=offer.id,
            now=clock.now(),
            key=token_key(),
            zone=city_zone(),
            reward_types=reward_types(),
        )
    except DomainError as error:
        db.session.rollback()  # the token the attempt issued goes too
        offer = offers.visible_offer(db.session, offer_id, clock.now())
        return render_template(
            "offers/detail.html",
            offer=offer,
            summary=offers.summary(offer, reward_types(), _locale()),
            balance=_balance(),
            self_service=_self_service(offer),
            redeem_form=EmptyForm(),
            error=str(error.message),
        ), error.status
    flash(_("Redeemed: the bank has been told. Your voucher code is below."), "success")
    return redirect(url_for("offers.my_vouchers"))


@bp.get("/offers/<int:offer_id>/qr")
@requires(Permission.USE_WALLET)
@qr_token_limit
def qr(offer_id: int) -> Any:
    """The QR code to show at the counter; the page's script refreshes it, watching the outcome."""
    db.writing()  # a GET that issues a token
    offer = offers.visible_offer(db.session, offer_id, clock.now())
    summary = offers.summary(offer, reward_types(), _locale())
    try:
        token = token_body(issue_for_current_holder(offer_id))
    except DomainError as error:
        return render_template(
            "offers/detail.html",
            offer=offer,
            summary=summary,
            balance=_balance(),
            error=str(error.message),
        ), error.status
    return render_template(
        "offers/qr.html", offer=offer, summary=summary, token=token, balance=_balance()
    )


@bp.get("/vouchers")
@requires(Permission.USE_WALLET)
def my_vouchers() -> str:
    """My vouchers (我的券): every code received, to show at the car-park exit or the till."""
    page = vouchers.vouchers_page(
        db.session, current_user.id, now=clock.now(), cursor=request.args.get("cursor"), limit=20
    )
    return render_template("resident/vouchers.html", page=page, locale=_locale())
