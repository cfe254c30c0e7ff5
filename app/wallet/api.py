"""JSON API: the holder's wallet and history; the bureau's lookups, adjustments and totals."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_login import current_user
from flask_smorest import Blueprint

from app import clock
from app.accounts import approvals
from app.accounts.api import approval_response
from app.accounts.auth import current_actor, requires
from app.accounts.roles import Permission
from app.accounts.schemas import ApprovalOut
from app.api.pagination import PageArgs
from app.context import ledger_policy, methodologies
from app.db import db
from app.ledger import services as ledger
from app.ledger.postings import require_wallet_holder
from app.wallet import history, schemas

blp = Blueprint("ledger_api", __name__, url_prefix="/api/v1", description="Points and the ledger")


def _methodologies() -> Any:
    return methodologies()


@blp.get("/wallet")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.WalletOut)
def wallet() -> ledger.WalletSummary:
    """The caller's balance, what expires when, and this month's points per day."""
    return ledger.wallet_summary(
        db.session, current_user.id, now=clock.now(), policy=ledger_policy()
    )


@blp.get("/wallet/history")
@requires(Permission.USE_WALLET)
@blp.arguments(PageArgs(), location="query")
@blp.response(200, schemas.HistoryPageOut)
def wallet_history(page: dict[str, Any]) -> history.HistoryPage:
    """The caller's transactions, newest first: credits with their calculation, debits with
    their offer and merchant."""
    return history.history(db.session, current_user.id, methodologies=_methodologies(), **page)


@blp.get("/wallet/history/<int:transaction_id>")
@requires(Permission.USE_WALLET)
@blp.response(200, schemas.HistoryItemOut)
def wallet_history_item(transaction_id: int) -> history.HistoryItem:
    """One transaction of the caller's wallet (404 for any other)."""
    return history.history_item(
        db.session, current_user.id, transaction_id, methodologies=_methodologies()
    )


@blp.get("/bureau/ledger/wallets")
@requires(Permission.READ_LEDGER)
@blp.arguments(schemas.WalletLookupArgs(), location="query")
@blp.response(200, schemas.BureauWalletOut)
def look_up_wallet(args: dict[str, str]) -> dict[str, Any]:
    """A resident's or organisation's wallet, found by mobile number."""
    holder = history.find_holder(db.session, args["mobile"])
    summary = ledger.wallet_summary(db.session, holder.id, now=clock.now(), policy=ledger_policy())
    return {**_fields(summary), "holder": holder}


def _fields(summary: ledger.WalletSummary) -> dict[str, Any]:
    return {
        "balance": summary.balance,
        "expiring": summary.expiring,
        "month": summary.month,
        "month_issued": summary.month_issued,
        "month_capped": summary.month_capped,
    }


@blp.get("/bureau/ledger/wallets/<int:user_id>/history")
@requires(Permission.READ_LEDGER)
@blp.arguments(PageArgs(), location="query")
@blp.response(200, schemas.HistoryPageOut)
def wallet_history_for_bureau(page: dict[str, Any], user_id: int) -> history.HistoryPage:
    """A holder's transactions, newest first."""
    require_wallet_holder(db.session, user_id)
    return history.history(db.session, user_id, methodologies=_methodologies(), **page)


@blp.post("/bureau/ledger/wallets/<int:user_id>/adjustments")
@requires(Permission.MANAGE_LEDGER)
@blp.arguments(schemas.LedgerAdjustmentIn())
@blp.response(201, schemas.LedgerPostedOut)
@blp.alt_response(202, schema=ApprovalOut, description="Above the threshold: requested")
def post_adjustment(data: dict[str, Any], user_id: int) -> Any:
    """Add or take away points with a reason (audited); a retried key returns the first. More
    than ``WALLET_ADJUSTMENT_APPROVAL_POINTS`` either way is only requested (202): a second,
    different admin approves it at ``/api/v1/bureau/approvals``."""
    threshold = current_app.config["WALLET_ADJUSTMENT_APPROVAL_POINTS"]
    if abs(data["points"]) > threshold:
        require_wallet_holder(db.session, user_id)
        ledger.check_adjustment(data["points"], data["reason"])
        request_ = approvals.request_adjustment(
            db.session, current_actor(), holder_id=user_id, **data
        )
        return approval_response(request_)
    return ledger.adjust(
        db.session, current_actor(), holder_id=user_id, policy=ledger_policy(),
        approval_threshold=threshold, **data,
    )  # fmt: skip


@blp.get("/bureau/ledger/totals")
@requires(Permission.READ_LEDGER)
@blp.response(200, schemas.LedgerTotalsOut)
def ledger_totals() -> ledger.LedgerTotals:
    """Points issued, redeemed, expired, adjusted and in circulation, city-wide."""
    return ledger.totals(db.session)
