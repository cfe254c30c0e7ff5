"""What the wallet holder and the bureau see of the ledger, and what the API accepts."""

from __future__ import annotations

import marshmallow as ma

from app.accounts.roles import Role
from app.api.pagination import page_schema
from app.ledger.models import Cap, TransactionKind


class BilingualTextOut(ma.Schema):
    zh = ma.fields.String()
    en = ma.fields.String()


class ExpiringLotOut(ma.Schema):
    expires_at = ma.fields.AwareDateTime(metadata={"description": "First instant not valid"})
    until = ma.fields.Date(metadata={"description": "Last local day the points can be spent"})
    points = ma.fields.Integer(metadata={"description": "Points that expire then"})


class DayPointsOut(ma.Schema):
    day = ma.fields.Date()
    issued = ma.fields.Integer(metadata={"description": "Points issued for the day's activities"})
    capped = ma.fields.Integer(metadata={"description": "Points a cap held back"})


class WalletOut(ma.Schema):
    """The holder's own wallet."""

    balance = ma.fields.Integer(metadata={"description": "Points that can be spent now"})
    expiring = ma.fields.List(
        ma.fields.Nested(ExpiringLotOut), metadata={"description": "Soonest first"}
    )
    month_issued = ma.fields.Integer(metadata={"description": "Points issued this month"})
    month_capped = ma.fields.Integer(metadata={"description": "Points caps held back this month"})
    month = ma.fields.List(ma.fields.Nested(DayPointsOut), metadata={"description": "This month"})


class CreditOut(ma.Schema):
    reduction_id = ma.fields.Integer()
    activity_kind = ma.fields.String()
    activity_name = ma.fields.Nested(BilingualTextOut, allow_none=True)
    occurred_at = ma.fields.AwareDateTime()
    quantities = ma.fields.Dict()
    methodology_code = ma.fields.String()
    methodology_version = ma.fields.String()
    requested_points = ma.fields.Integer(
        metadata={"description": "Points the credited grams earn before the ledger's caps"}
    )
    capped_points = ma.fields.Integer(
        metadata={"description": "Points the ledger's caps held back"}
    )
    cap = ma.fields.Enum(Cap, by_value=True, allow_none=True)
    reduction_g = ma.fields.Integer(metadata={"description": "Grams CO2e the activity avoided"})
    credited_g = ma.fields.Integer(
        metadata={"description": "Grams CO2e credited after the methodology's caps"}
    )
    capped_g = ma.fields.Integer(
        metadata={"description": "Grams CO2e the methodology's cap held back (no points)"}
    )
    methodology_cap = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The methodology's cap that held grams back: methodology_daily or "
            "methodology_monthly"
        },
    )
    budget_points = ma.fields.Integer(
        metadata={"description": "Points the city's monthly points budget could not cover"}
    )
    budget_action = ma.fields.String(
        allow_none=True,
        metadata={
            "enum": ["deferred", "scaled", None],
            "description": "deferred: issued later from the following months' budgets (their "
            "own issue transactions, memo: the month); scaled: not issued",
        },
    )
    trace = ma.fields.Nested(
        BilingualTextOut, allow_none=True, metadata={"description": "Calculation"}
    )


class DebitOut(ma.Schema):
    merchant_id = ma.fields.Integer(allow_none=True)
    merchant_name = ma.fields.String(allow_none=True)
    offer = ma.fields.String()
    reference_type = ma.fields.String(allow_none=True)
    reference_id = ma.fields.Integer(allow_none=True)


class HistoryItemOut(ma.Schema):
    transaction_id = ma.fields.Integer()
    kind = ma.fields.Enum(TransactionKind, by_value=True)
    points = ma.fields.Integer(metadata={"description": "Points, signed: + credited, − debited"})
    posted_at = ma.fields.AwareDateTime()
    memo = ma.fields.String()
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    reverses_id = ma.fields.Integer(allow_none=True)
    credit = ma.fields.Nested(CreditOut, allow_none=True)
    debit = ma.fields.Nested(DebitOut, allow_none=True)


HistoryPageOut = page_schema(HistoryItemOut, "WalletHistoryPage")


class WalletHolderOut(ma.Schema):
    id = ma.fields.Integer()
    role = ma.fields.Enum(Role, by_value=True)
    display_name = ma.fields.String()
    mobile = ma.fields.String()


class BureauWalletOut(WalletOut):
    """A wallet as the bureau looks it up: with whose it is."""

    holder = ma.fields.Nested(WalletHolderOut)


class WalletLookupArgs(ma.Schema):
    mobile = ma.fields.String(required=True, metadata={"example": "13800138000"})


class LedgerAdjustmentIn(ma.Schema):
    points = ma.fields.Integer(
        required=True,
        strict=True,
        metadata={"description": "Positive adds points, negative takes them away"},
    )
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 255))
    idempotency_key = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 100),
        metadata={"description": "Resend the same key to retry safely"},
    )


class LedgerPostedOut(ma.Schema):
    transaction_id = ma.fields.Integer()
    balance = ma.fields.Integer(metadata={"description": "Points in the wallet afterwards"})
    replayed = ma.fields.Boolean(metadata={"description": "True: the key's earlier transaction"})


class LedgerTotalsOut(ma.Schema):
    issued = ma.fields.Integer(metadata={"description": "Points issued, net of reversals"})
    redeemed = ma.fields.Integer(metadata={"description": "Points redeemed, net of reversals"})
    expired = ma.fields.Integer(metadata={"description": "Points that expired"})
    adjusted = ma.fields.Integer(
        metadata={"description": "Points the bureau added, net (negative: took away)"}
    )
    in_circulation = ma.fields.Integer(metadata={"description": "Points in all wallets"})
    capped = ma.fields.Integer(metadata={"description": "Points the caps held back (never issued)"})
    wallets = ma.fields.Integer(metadata={"description": "Number of wallets"})
