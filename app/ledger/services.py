"""The ledger's public service API: what other packages, the pages, the CLI and jobs call.

All take a SQLAlchemy session and plain values, only flush, and raise DomainError; the edge
commits or rolls back. In short:

- ``issue_points(session, reduction_ids, policy=, now=)``: batch issuance for verified reductions;
- ``redeem(session, holder_id=, merchant_id=, points=, idempotency_key=, reference_id=, memo=)``:
  the redemption debit, with a ``Guard`` for what it is conditional on and writes besides in its
  statement (PostgreSQL); ``reverse(session, transaction_id, idempotency_key=, memo=)``;
- ``adjust(session, actor, holder_id=, points=, reason=, idempotency_key=, policy=)``: audited;
- ``expire_points(session, now=, policy=, after_wallet_id=, limit=, previous_run=)`` in chunks, and
  ``expiring_soon(session, now=, within=, after_wallet_id=, limit=)`` for reminders;
- ``balance``, ``locked_balance`` and ``locked_balance_of`` (both lock the wallet first),
  ``wallet_summary``, ``history``, ``history_item``, ``totals``, ``reconcile``.
"""

from app.ledger.expiry import (
    ExpiringLot,
    ExpiringPage,
    ExpiringWallet,
    ExpiryRun,
    expire_points,
    expiring_soon,
)
from app.ledger.issuance import IssueLine, IssueResult, issue_points
from app.ledger.policy import Caps, LedgerPolicy, policy_from_config
from app.ledger.postings import (
    Guard,
    InsufficientPoints,
    Posted,
    adjust,
    balance,
    locked_balance,
    locked_balance_of,
    open_merchant_account,
    redeem,
    reverse,
)
from app.ledger.queries import (
    Credit,
    DayPoints,
    Debit,
    HistoryItem,
    HistoryPage,
    WalletSummary,
    find_holder,
    history,
    history_item,
    wallet_summary,
)
from app.ledger.reports import LedgerTotals, ReconcileReport, reconcile, totals

__all__ = [
    "Caps",
    "Credit",
    "DayPoints",
    "Debit",
    "ExpiringLot",
    "ExpiringPage",
    "ExpiringWallet",
    "ExpiryRun",
    "Guard",
    "HistoryItem",
    "HistoryPage",
    "InsufficientPoints",
    "IssueLine",
    "IssueResult",
    "LedgerPolicy",
    "LedgerTotals",
    "Posted",
    "ReconcileReport",
    "WalletSummary",
    "adjust",
    "balance",
    "expire_points",
    "expiring_soon",
    "find_holder",
    "history",
    "history_item",
    "issue_points",
    "locked_balance",
    "locked_balance_of",
    "open_merchant_account",
    "policy_from_config",
    "reconcile",
    "redeem",
    "reverse",
    "totals",
    "wallet_summary",
]
