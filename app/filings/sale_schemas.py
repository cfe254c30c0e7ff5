"""What the API takes and returns of pooled sales, their proceeds and donations, by audience:
the bureau sees a sale and its distribution whole; a participant sees their own share and
donations."""

from __future__ import annotations

import re
from collections.abc import Callable

import marshmallow as ma

from app.api.pagination import page_schema
from app.filings import donations, sales
from app.filings.models import UnitSaleStatus


def _matching(pattern: str) -> Callable[[str], None]:
    """The whole text matches ``pattern``, as JSON Schema reads it (Python's ``$`` also matches
    before a final newline); documented with the field's ``pattern``."""
    compiled = re.compile(pattern)

    def validate(value: str) -> None:
        if compiled.fullmatch(value) is None:
            raise ma.ValidationError("String does not match expected pattern.")

    return validate


_FEN = {"description": "Fen (1/100 yuan), exact"}
_PAID_AS = {"enum": ["points", "yuan"], "description": "Paid as points, or recorded as yuan owed"}


class SaleIn(ma.Schema):
    buyer = ma.fields.String(required=True, validate=ma.validate.Length(1, sales.TEXT_MAX))
    price = ma.fields.String(
        required=True,
        validate=_matching(sales.PRICE_PATTERN),
        metadata={
            "pattern": sales.PRICE_PATTERN,
            "description": "Yuan per tonne, above zero, at most 2 decimals (exact, a string)",
            "example": "85.17",
        },
    )
    sold_on = ma.fields.Date(required=True, metadata={"description": "Local date of the trade"})
    exchange_reference = ma.fields.String(
        required=True, validate=ma.validate.Length(1, sales.TEXT_MAX)
    )
    ranges = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 120)),
        required=True,
        validate=ma.validate.Length(1, sales.RANGES_MAX),
        metadata={
            "description": "Serial ranges sold, e.g. YC-BUS-202606-B000007-0000001-0000024; "
            "active units, no two overlapping"
        },
    )


class DistributionOut(ma.Schema):
    sale_id = ma.fields.Integer()
    proceeds_fen = ma.fields.Integer(metadata={"description": "Units × price, fen"})
    programme_fen = ma.fields.Integer(metadata={"description": "The programme's share, fen"})
    distributable_fen = ma.fields.Integer(
        metadata={"description": "Shared among the participants, fen; the shares sum to it"}
    )
    kept_fen = ma.fields.Integer(
        metadata={"description": "Shares of closed accounts, kept for the programme, fen"}
    )
    contributed_g = ma.fields.Integer(metadata={"description": "Grams CO2e in the sold units"})
    participants = ma.fields.Integer()
    paid_as = ma.fields.String(metadata=_PAID_AS)
    started_at = ma.fields.AwareDateTime()
    finished_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "Null while shares are still being paid"}
    )


class ShareOut(ma.Schema):
    participant_id = ma.fields.Integer(metadata={"description": "The resident or organisation"})
    grams = ma.fields.Integer(metadata={"description": "Their grams CO2e in the sold units"})
    fen = ma.fields.Integer(metadata={"description": "Their share, fen (1/100 yuan), exact"})
    points = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Points posted to their wallet; null when paid as yuan or kept"},
    )
    kept = ma.fields.Boolean(
        metadata={"description": "Their account was closed: the share stays with the programme"}
    )
    paid = ma.fields.Boolean(
        metadata={"description": "Points posted, or the yuan owed recorded; false while paying"}
    )


SharePageOut = page_schema(ShareOut, "SharePage")


class SaleOut(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.Enum(UnitSaleStatus, by_value=True)
    buyer = ma.fields.String()
    price_fen_per_tonne = ma.fields.Integer(metadata=_FEN)
    sold_on = ma.fields.Date()
    exchange_reference = ma.fields.String()
    ranges = ma.fields.List(ma.fields.String(), metadata={"description": "Serial ranges sold"})
    units = ma.fields.Integer(metadata={"description": "Units sold, 1 t CO2e each"})
    requested_by_id = ma.fields.Integer(metadata={"description": "Who recorded the sale"})
    created_at = ma.fields.AwareDateTime()
    decided_by_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "The second colleague who approved or refused"}
    )
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    distribution = ma.fields.Nested(
        DistributionOut, allow_none=True, metadata={"description": "Null until it is run"}
    )


SalePageOut = page_schema(SaleOut, "UnitSalePage")


class ProceedsLineOut(ma.Schema):
    """One participant's share of a sale: "your N kg in batch … sold at ¥…/t: +M points"."""

    sale_id = ma.fields.Integer(attribute="sale.id")
    sold_on = ma.fields.Date(attribute="sale.sold_on")
    price_fen_per_tonne = ma.fields.Integer(attribute="sale.price_fen_per_tonne", metadata=_FEN)
    batches = ma.fields.List(
        ma.fields.String(), metadata={"description": "Filing batches the sold units come from"}
    )
    grams = ma.fields.Integer(
        attribute="share.grams", metadata={"description": "Your grams CO2e in the sold units"}
    )
    fen = ma.fields.Integer(attribute="share.fen", metadata={"description": "Your share, fen"})
    points = ma.fields.Integer(
        attribute="share.points",
        allow_none=True,
        metadata={"description": "Points credited; null when paid as yuan or kept"},
    )
    kept = ma.fields.Boolean(
        attribute="share.kept",
        metadata={"description": "Account closed: the share was kept for the programme"},
    )
    paid = ma.fields.Boolean(attribute="share.paid")
    paid_as = ma.fields.String(attribute="run.paid_as", metadata=_PAID_AS)


ProceedsPageOut = page_schema(ProceedsLineOut, "ProceedsPage")


class ProceedsStatementOut(ProceedsLineOut):
    buyer = ma.fields.String(attribute="sale.buyer")
    exchange_reference = ma.fields.String(attribute="sale.exchange_reference")
    units = ma.fields.Integer(attribute="sale.units", metadata={"description": "Units sold"})
    proceeds_fen = ma.fields.Integer(attribute="run.proceeds_fen", metadata=_FEN)
    programme_fen = ma.fields.Integer(attribute="run.programme_fen", metadata=_FEN)
    distributable_fen = ma.fields.Integer(attribute="run.distributable_fen", metadata=_FEN)
    contributed_g = ma.fields.Integer(
        attribute="run.contributed_g",
        metadata={"description": "Grams CO2e of all participants in the sold units"},
    )


class DonationIn(ma.Schema):
    certificate = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 32),
        metadata={"description": "The event's certificate number", "example": "CN-2026-000001"},
    )
    kilograms = ma.fields.String(
        required=True,
        validate=_matching(donations.KILOGRAMS_PATTERN),
        metadata={
            "pattern": donations.KILOGRAMS_PATTERN,
            "description": "Kilograms CO2e to give, above zero, at most 3 decimals (a string); "
            "whole free reductions are given, oldest first, as long as they fit",
            "example": "1.5",
        },
    )


class DonationOut(ma.Schema):
    id = ma.fields.Integer()
    certificate = ma.fields.String()
    event_name = ma.fields.String()
    event_date = ma.fields.Date()
    donated_g = ma.fields.Integer(metadata={"description": "Grams CO2e given (exact)"})
    reductions = ma.fields.Integer(metadata={"description": "Reductions given"})
    created_at = ma.fields.AwareDateTime()


class DonationPageOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DonationOut), metadata={"description": "Newest first"})
    next_cursor = ma.fields.String(
        allow_none=True, metadata={"description": "Pass as `cursor` for the next page"}
    )
    free_g = ma.fields.Integer(
        metadata={"description": "Grams of your verified reductions still free to give"}
    )
