"""What the resident and the merchant see of tokens and redemptions."""

from __future__ import annotations

import marshmallow as ma

from app.api.fields import yuan
from app.api.ids import Id


class QrTokenOut(ma.Schema):
    """A QR token for the resident's screen."""

    token_id = ma.fields.Integer()
    token = ma.fields.String(metadata={"description": "The signed string the QR code carries"})
    code = ma.fields.String(metadata={"description": "8 digits for manual entry"})
    expires_at = ma.fields.AwareDateTime()
    expires_in = ma.fields.Integer(metadata={"description": "Seconds left by server time"})
    svg = ma.fields.String(metadata={"description": "The QR code as an <svg> element"})


class StatusArgs(ma.Schema):
    since = Id(required=True, metadata={"description": "The first token id the page was given"})


class FulfilmentOut(ma.Schema):
    code = ma.fields.String()
    instructions = ma.fields.String()
    valid_until = ma.fields.String(allow_none=True)


class HolderRedemptionOut(ma.Schema):
    """A redemption as the resident sees it."""

    id = ma.fields.Integer()
    points = ma.fields.Integer(metadata={"description": "Points debited"})
    status = ma.fields.String()
    confirmed_at = ma.fields.AwareDateTime()
    fulfilment = ma.fields.Nested(FulfilmentOut)


class StatusOut(ma.Schema):
    state = ma.fields.String(metadata={"description": "waiting, redeemed or refused"})
    token_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    message = ma.fields.String(allow_none=True)
    replays = ma.fields.Integer(metadata={"description": "Refused attempts to reuse the code"})
    redemption = ma.fields.Nested(HolderRedemptionOut, allow_none=True)
    balance = ma.fields.Integer(metadata={"description": "The wallet's balance in points"})


class TokenIn(ma.Schema):
    token = ma.fields.String(
        required=True,
        metadata={"description": "What the QR code carries, or the 8-digit code under it"},
    )
    store_id = Id(
        load_default=None,
        allow_none=True,
        strict=True,
        metadata={"description": "The counter's store; needed when the caller works at several"},
    )


class PreviewOut(ma.Schema):
    """What the cashier confirms: the offer, its price and whose phone it is (masked)."""

    token_id = ma.fields.Integer()
    offer_id = ma.fields.Integer()
    offer_title = ma.fields.String()
    points = ma.fields.Integer(metadata={"description": "Points that will be debited"})
    holder_name = ma.fields.String(metadata={"description": "The resident's masked name"})
    expires_at = ma.fields.AwareDateTime()
    store_id = ma.fields.Integer()
    store_name = ma.fields.String()


class MerchantRedemptionOut(ma.Schema):
    """A redemption as the merchant's staff see it."""

    id = ma.fields.Integer()
    offer_id = ma.fields.Integer()
    store_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "The store whose counter confirmed it"}
    )
    points = ma.fields.Integer(metadata={"description": "Points debited"})
    reward_type = ma.fields.String()
    fulfilment = ma.fields.Dict()
    status = ma.fields.String()
    confirmed_at = ma.fields.AwareDateTime()
    confirmed_by_id = ma.fields.Integer()
    reversed_at = ma.fields.AwareDateTime(allow_none=True)
    reversal_reason = ma.fields.String()


class ConfirmedOut(ma.Schema):
    redemption = ma.fields.Nested(MerchantRedemptionOut)
    offer_title = ma.fields.String()
    holder_name = ma.fields.String()
    store_name = ma.fields.String()


class ReversalIn(ma.Schema):
    reason = ma.fields.String(required=True)


class MonthArgs(ma.Schema):
    month = ma.fields.String(load_default=None, metadata={"example": "2026-11"})


class StatementLineOut(ma.Schema):
    redemption_id = ma.fields.Integer()
    confirmed_at = ma.fields.AwareDateTime()
    store_name = ma.fields.String(metadata={"description": "Where it was redeemed"})
    offer_title = ma.fields.String()
    points = ma.fields.Integer(metadata={"description": "Points redeemed"})
    status = ma.fields.String()
    amount_yuan = yuan(
        "This line's share of the amount owed, yuan (0 when reversed or funded by the bank)"
    )
    funded_fen = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "What the bank funded for a bank reward, fen; null otherwise"},
    )


class StoreTotalOut(ma.Schema):
    store_id = ma.fields.Integer(allow_none=True)
    store_name = ma.fields.String()
    redemptions = ma.fields.Integer()
    points = ma.fields.Integer(metadata={"description": "Points of the standing redemptions"})
    amount_yuan = yuan("Amount owed, yuan")


class StatementTotalsOut(ma.Schema):
    merchant_id = ma.fields.Integer()
    merchant_name = ma.fields.String()
    month = ma.fields.Function(lambda stmt: stmt.month.strftime("%Y-%m"))
    redemptions = ma.fields.Integer()
    reversed = ma.fields.Integer()
    points = ma.fields.Integer(metadata={"description": "Points of the standing redemptions"})
    amount_yuan = yuan("Amount owed, yuan (bank-funded redemptions earn no subsidy)")
    funded_fen = ma.fields.Integer(
        metadata={"description": "What the merchant (a bank) funded itself, fen"}
    )


class StatementOut(StatementTotalsOut):
    lines = ma.fields.List(ma.fields.Nested(StatementLineOut))
    by_store = ma.fields.List(
        ma.fields.Nested(StoreTotalOut),
        metadata={"description": "Standing redemptions per store; the amounts add up to the total"},
    )


class VoucherUseIn(ma.Schema):
    redemption_id = Id(required=True, strict=True, metadata={"description": "Redemption no."})
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "The voucher code the resident showed"},
    )


class VoucherUsedOut(ma.Schema):
    redemption_id = ma.fields.Integer(attribute="id")
    offer_id = ma.fields.Integer()
    offer_title = ma.fields.String()
    voucher_used_at = ma.fields.AwareDateTime()


class VoucherInstructionsOut(ma.Schema):
    zh = ma.fields.String()
    en = ma.fields.String()


class VoucherOut(ma.Schema):
    """A benefit the resident received: what to show, where, and until when."""

    redemption_id = ma.fields.Integer()
    offer_id = ma.fields.Integer()
    offer_title = ma.fields.String(metadata={"description": "The title when it was redeemed"})
    offer_title_en = ma.fields.String(
        metadata={"description": "The offer's English title; may be empty"}
    )
    merchant_name = ma.fields.String()
    store_name = ma.fields.String(allow_none=True)
    points = ma.fields.Integer(metadata={"description": "Points it cost"})
    reward_type = ma.fields.String()
    code = ma.fields.String(metadata={"description": "The voucher code to show (e.g. at the exit)"})
    instructions = ma.fields.Nested(VoucherInstructionsOut, allow_none=True)
    valid_until = ma.fields.AwareDateTime(allow_none=True)
    confirmed_at = ma.fields.AwareDateTime()
    state = ma.fields.String(
        metadata={
            "description": "valid, used, expired or reversed",
            "enum": ["valid", "used", "expired", "reversed"],
        }
    )
