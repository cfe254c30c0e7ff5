"""What the API takes and gives about banks, grants, carbon summaries and statements."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from app.api.fields import StrictBoolean
from app.api.ids import Id
from app.banks import scopes
from app.banks.carbon import month_start

#: Longest period one statement covers, in months.
MAX_STATEMENT_MONTHS = 24
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
#: The years a statement may cover: a month's instants must exist in the city's time zone and
#: in UTC (year 1 and year 9999's last month would run off the calendar).
FIRST_YEAR, LAST_YEAR = 1970, 9998


class BankClientIn(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 128))
    logo_uri = ma.fields.Url(
        load_default=None, schemes={"https"}, validate=ma.validate.Length(max=512)
    )
    redirect_uris = ma.fields.List(
        ma.fields.Url(require_tld=False, schemes={"https", "http"}),
        required=True,
        validate=ma.validate.Length(1, 10),
        metadata={"description": "Exact https URIs (http only on 127.0.0.1 or localhost)"},
    )
    scopes = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(list(scopes.SCOPES))),
        required=True,
        validate=ma.validate.Length(1, len(scopes.SCOPES)),
    )
    merchant_id = Id(
        load_default=None,
        allow_none=True,
        strict=True,
        metadata={
            "description": "The bank's approved merchant of the financial kind: its webhook "
            "endpoints subscribed to grant.revoked are told when a holder revokes a grant"
        },
    )


class BankClientOut(ma.Schema):
    id = ma.fields.Integer()
    client_id = ma.fields.String()
    name = ma.fields.String()
    logo_uri = ma.fields.String(allow_none=True)
    redirect_uris = ma.fields.List(ma.fields.String())
    scopes = ma.fields.List(ma.fields.String())
    merchant_id = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "The bank's financial merchant told of revoked grants, or null"},
    )
    created_at = ma.fields.AwareDateTime()
    is_active = ma.fields.Boolean(
        metadata={"description": "False while the bureau has switched the bank off"}
    )
    disabled_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "When the bureau switched it off; null while it may be used"},
    )


class RegisteredBankOut(BankClientOut):
    client_secret = ma.fields.String(
        metadata={"description": "Shown this once; only its SHA-256 digest is kept"}
    )


class BankActiveIn(ma.Schema):
    is_active = StrictBoolean(
        required=True,
        metadata={
            "description": "false switches the bank off: the authorize and token endpoints "
            "refuse it and its access and refresh tokens are revoked now (switching it on again "
            "revives none of them); the holders' grants stay. true switches it back on"
        },
    )


class AuthorisedAppOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "The grant's id (revoke with it)"})
    bank = ma.fields.String(attribute="client.name")
    client_id = ma.fields.String(attribute="client.client_id")
    scopes = ma.fields.List(ma.fields.String())
    granted_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime()
    bank_active = ma.fields.Boolean(
        attribute="client.is_active",
        metadata={
            "description": "False while the bureau has switched the bank off: it reads nothing "
            "with this grant meanwhile, which can still be withdrawn"
        },
    )


class PeriodArgs(ma.Schema):
    """A period of whole months, from ``from`` to ``to`` inclusive."""

    from_month = ma.fields.String(
        data_key="from",
        required=True,
        validate=ma.validate.Regexp(_MONTH),
        metadata={"description": "First month, YYYY-MM", "example": "2026-01"},
    )
    to_month = ma.fields.String(
        data_key="to",
        required=True,
        validate=ma.validate.Regexp(_MONTH),
        metadata={"description": "Last month included, YYYY-MM", "example": "2026-06"},
    )

    @ma.post_load
    def _period(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, date]:
        years = (int(data[key][:4]) for key in ("from_month", "to_month"))
        if not all(FIRST_YEAR <= year <= LAST_YEAR for year in years):
            raise ma.ValidationError(
                str(_l("The months must lie between 1970 and 9998.")), field_name="from"
            )
        start = date.fromisoformat(data["from_month"] + "-01")
        last = date.fromisoformat(data["to_month"] + "-01")
        months = (last.year - start.year) * 12 + last.month - start.month + 1
        if not 1 <= months <= MAX_STATEMENT_MONTHS:
            raise ma.ValidationError(
                str(_l("The period runs from 1 to 24 whole months, first month first.")),
                field_name="to",
            )
        return {"start": start, "end": month_start(last, -1)}


class MonthOut(ma.Schema):
    month = ma.fields.String(metadata={"description": "YYYY-MM, the city's calendar month"})
    grams = ma.fields.Integer(metadata={"description": "Grams CO2e avoided (verified)"})
    kilograms = ma.fields.Decimal(as_string=True, metadata={"description": "The same, in kg"})


class CarbonSummaryOut(ma.Schema):
    balance = ma.fields.Integer(metadata={"description": "Points in the wallet now"})
    months = ma.fields.List(ma.fields.Nested(MonthOut), metadata={"description": "Oldest first"})


class CarbonStatementLineOut(ma.Schema):
    month = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "Activity kind code"})
    reductions = ma.fields.Integer(metadata={"description": "Verified reductions counted"})
    g = ma.fields.Integer(metadata={"description": "Grams CO2e"})


class CarbonStatementBatchOut(ma.Schema):
    serial = ma.fields.String()
    methodology = ma.fields.String()
    period_start = ma.fields.String()
    root_hash = ma.fields.String()
    g = ma.fields.Integer(metadata={"description": "Grams CO2e of this statement in the batch"})


class CarbonStatementClaimsOut(ma.Schema):
    iss = ma.fields.String()
    sub = ma.fields.String()
    iat = ma.fields.Integer()
    holder = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    period = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    unit = ma.fields.String()
    covers = ma.fields.String()
    total_g = ma.fields.Integer(metadata={"description": "Grams CO2e verified in the period"})
    lines = ma.fields.List(ma.fields.Nested(CarbonStatementLineOut))
    filing_batches = ma.fields.List(ma.fields.Nested(CarbonStatementBatchOut))
    not_yet_filed_g = ma.fields.Integer(
        metadata={"description": "Verified grams CO2e not yet in a filing batch"}
    )


class CarbonStatementOut(ma.Schema):
    statement = ma.fields.String(
        metadata={"description": "Compact JWS (alg Ed25519); keys at /.well-known/jwks.json"}
    )
    claims = ma.fields.Nested(CarbonStatementClaimsOut, metadata={"description": "What it says"})


class PerformanceOut(ma.Schema):
    months = ma.fields.List(ma.fields.Nested(MonthOut), metadata={"description": "Oldest first"})
    last_quarter_g = ma.fields.Integer(
        metadata={"description": "Grams CO2e, last three complete months"}
    )
    previous_quarter_g = ma.fields.Integer(
        metadata={"description": "Grams CO2e, the three months before"}
    )
    trend_percent = ma.fields.Decimal(
        as_string=True,
        allow_none=True,
        metadata={"description": "Change of the last quarter over the previous, percent"},
    )
