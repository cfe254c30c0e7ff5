"""JSON API of pooled sales: the bureau records, approves and lists sales and shares their
proceeds; a resident or organisation reads their share of each sale and gives reductions to an
event. The same services and permissions as the pages (:mod:`app.filings.sale_views`,
:mod:`app.filings.donation_views`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint

from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.api.pagination import PageArgs, decode_id_cursor, encode_cursor, keyset_page
from app.context import approval_independence
from app.db import db
from app.errors import NotFound
from app.filings import donations, proceeds, sales
from app.filings import sale_schemas as schemas
from app.filings.models import SaleDistribution, UnitSale
from app.filings.sale_views import PAID_PER_STATEMENT, payout_rules

bureau_blp = Blueprint(
    "sales_api",
    __name__,
    url_prefix="/api/v1/bureau/sales",
    description="Pooled sales of units (two colleagues) and their proceeds shared back",
)
holder_blp = Blueprint(
    "proceeds_api",
    __name__,
    url_prefix="/api/v1/me",
    description="The caller's share of pooled sales, and reductions given to events",
)


def _sale(sale: UnitSale) -> dict[str, Any]:
    """A sale as the bureau sees it: its serial ranges and its distribution, if run."""
    return {
        "id": sale.id, "status": sale.status, "buyer": sale.buyer,
        "price_fen_per_tonne": sale.price_fen_per_tonne, "sold_on": sale.sold_on,
        "exchange_reference": sale.exchange_reference, "units": sale.units,
        "ranges": sales.serials_of(db.session, sale), "requested_by_id": sale.requested_by_id,
        "created_at": sale.created_at, "decided_by_id": sale.decided_by_id,
        "decided_at": sale.decided_at, "distribution": proceeds.run_of(db.session, sale.id),
    }  # fmt: skip


@bureau_blp.get("")
@requires(Permission.MANAGE_FILINGS)
@bureau_blp.arguments(PageArgs(), location="query")
@bureau_blp.response(200, schemas.SalePageOut)
def list_sales(page: dict[str, Any]) -> dict[str, Any]:
    """Sales, newest first, whatever their status."""
    found = keyset_page(
        db.session, sa.select(UnitSale), UnitSale.id, limit=page["limit"], cursor=page["cursor"]
    )
    return {"items": [_sale(sale) for sale in found["items"]], "next_cursor": found["next_cursor"]}


@bureau_blp.post("")
@requires(Permission.MANAGE_FILINGS)
@bureau_blp.arguments(schemas.SaleIn())
@bureau_blp.response(201, schemas.SaleOut)
def record_sale(data: dict[str, Any]) -> dict[str, Any]:
    """Record a trade of active units (audited); they stay active until a different colleague
    approves it. Refused, nothing written: units not active (409), overlapping ranges (409), a
    range past what its batch holds (409), a price of zero or less (422)."""
    sale = sales.request_sale(
        db.session, current_actor(), buyer=data["buyer"],
        price_fen_per_tonne=sales.parse_price(data["price"]), sold_on=data["sold_on"],
        exchange_reference=data["exchange_reference"], serials=data["ranges"],
    )  # fmt: skip
    return _sale(sale)


@bureau_blp.get("/<int:sale_id>")
@requires(Permission.MANAGE_FILINGS)
@bureau_blp.response(200, schemas.SaleOut)
def sale_detail(sale_id: int) -> dict[str, Any]:
    """One sale, with its distribution once run."""
    return _sale(sales.get_sale(db.session, sale_id))


def _decide(sale_id: int, *, approve: bool) -> dict[str, Any]:
    sale = sales.decide_sale(
        db.session, current_actor(), sale_id, approve=approve,
        independence=approval_independence(),
    )  # fmt: skip
    return _sale(sale)


@bureau_blp.post("/<int:sale_id>/approve")
@requires(Permission.MANAGE_FILINGS)
@bureau_blp.response(200, schemas.SaleOut)
def approve_sale(sale_id: int) -> dict[str, Any]:
    """Approve a recorded sale as a second colleague (audited): its units become sold, if every
    one is still active (409 otherwise). The colleague who recorded it, or one whose account it
    created or who created its account recently, is refused (403)."""
    return _decide(sale_id, approve=True)


@bureau_blp.post("/<int:sale_id>/refuse")
@requires(Permission.MANAGE_FILINGS)
@bureau_blp.response(200, schemas.SaleOut)
def refuse_sale(sale_id: int) -> dict[str, Any]:
    """Refuse a recorded sale as a second colleague (audited): nothing is sold."""
    return _decide(sale_id, approve=False)


@bureau_blp.post("/<int:sale_id>/distribution")
@requires(Permission.MANAGE_FILINGS)
@bureau_blp.response(201, schemas.DistributionOut)
def distribute_sale(sale_id: int) -> SaleDistribution:
    """Share an approved sale's proceeds among the participants whose reductions are in its
    units (audited), whole in this request; ``tanpuhui distribute-sale`` runs a large sale in
    chunks. Refused: a sale not approved (409), a second distribution of a sale (409)."""
    return proceeds.distribute(
        db.session, current_actor(), sale_id, payout_rules(), chunk=PAID_PER_STATEMENT
    )


@bureau_blp.get("/<int:sale_id>/distribution")
@requires(Permission.MANAGE_FILINGS)
@bureau_blp.response(200, schemas.DistributionOut)
def read_distribution(sale_id: int) -> SaleDistribution:
    """The sale's distribution: what was shared, kept and among how many (404 before it runs)."""
    sales.get_sale(db.session, sale_id)
    run = proceeds.run_of(db.session, sale_id)
    if run is None:
        raise NotFound("distribution")
    return run


@bureau_blp.get("/<int:sale_id>/distribution/shares")
@requires(Permission.MANAGE_FILINGS)
@bureau_blp.arguments(PageArgs(), location="query")
@bureau_blp.response(200, schemas.SharePageOut)
def distribution_shares(page: dict[str, Any], sale_id: int) -> dict[str, Any]:
    """Each participant's share of a distributed sale, in participant order: their grams, fen
    and how it was paid (404 before the distribution runs). The shares' fen sum to the
    distribution's ``distributable_fen``."""
    sales.get_sale(db.session, sale_id)
    after = decode_id_cursor(page["cursor"]) if page["cursor"] else None
    shares = proceeds.shares_in(db.session, sale_id, after=after, limit=page["limit"] + 1)
    more = len(shares) > page["limit"]
    shares = shares[: page["limit"]]
    next_cursor = encode_cursor([shares[-1].participant_id]) if more else None
    return {"items": shares, "next_cursor": next_cursor}


@holder_blp.get("/proceeds")
@requires(Permission.USE_WALLET)
@holder_blp.arguments(PageArgs(), location="query")
@holder_blp.response(200, schemas.ProceedsPageOut)
def my_proceeds(page: dict[str, Any]) -> dict[str, Any]:
    """The caller's share of each sale, newest first: their kilograms in the sold units, the
    batches, the price and the points (or yuan owed)."""
    before = decode_id_cursor(page["cursor"]) if page["cursor"] else None
    lines = proceeds.shares_of(db.session, current_user.id, before=before, limit=page["limit"] + 1)
    more = len(lines) > page["limit"]
    lines = lines[: page["limit"]]
    return {"items": lines, "next_cursor": encode_cursor([lines[-1].sale.id]) if more else None}


@holder_blp.get("/proceeds/<int:sale_id>")
@requires(Permission.USE_WALLET)
@holder_blp.response(200, schemas.ProceedsStatementOut)
def my_statement(sale_id: int) -> proceeds.ShareLine:
    """The statement of the caller's share of one sale (404 for a sale they have no share in)."""
    return proceeds.statement_of(db.session, current_user.id, sale_id)


@holder_blp.get("/donations")
@requires(Permission.USE_WALLET)
@holder_blp.arguments(PageArgs(), location="query")
@holder_blp.response(200, schemas.DonationPageOut)
def my_donations(page: dict[str, Any]) -> dict[str, Any]:
    """The caller's donations, newest first, and the grams still free to give."""
    before = decode_id_cursor(page["cursor"]) if page["cursor"] else None
    lines = donations.donations_by(
        db.session, current_user.id, before=before, limit=page["limit"] + 1
    )
    more = len(lines) > page["limit"]
    lines = lines[: page["limit"]]
    return {
        "items": lines,
        "next_cursor": encode_cursor([lines[-1].id]) if more else None,
        "free_g": donations.free_grams(db.session, current_user.id),
    }


@holder_blp.post("/donations")
@requires(Permission.USE_WALLET)
@holder_blp.arguments(schemas.DonationIn())
@holder_blp.response(201, schemas.DonationOut)
def donate(data: dict[str, Any]) -> donations.GivenLine:
    """Give whole free reductions (verified, in no live batch, never given), oldest first, up to
    the kilograms asked, to an event with a certificate (audited). Refused, nothing written: more
    than the caller's free reductions (409), no reduction small enough (409), an unknown
    certificate (404)."""
    donation = donations.donate(
        db.session, current_actor(), donor_id=current_user.id,
        certificate=data["certificate"], grams=donations.parse_kilograms(data["kilograms"]),
    )  # fmt: skip
    return donations.given(db.session, donation.id)
