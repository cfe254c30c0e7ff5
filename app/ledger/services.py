"""The ledger's public service API: what other packages, the pages, the CLI and jobs call.

All take a SQLAlchemy session and plain values, only flush, and raise DomainError; the edge
commits or rolls back. In short:

- ``issue_points(session, earnings, policy=, now=)``: batch issuance for verified reductions, each
  given as a plain ``Earning``;
- ``redeem(session, holder_id=, merchant_id=, points=, idempotency_key=, reference_id=, memo=)``:
  the redemption debit, with a ``Guard`` (SQLAlchemy Core) for what it is conditional on and the
  row it writes besides, in its own statement;
  ``reverse(session, transaction_id, idempotency_key=, memo=)``;
- ``adjust(session, actor, holder_id=, points=, reason=, idempotency_key=, policy=)``: audited;
- ``expire_points(session, now=, policy=, after_wallet_id=, limit=, previous_run=)`` in chunks, and
  ``expiring_soon(session, now=, within=, after_wallet_id=, limit=)`` for reminders;
- the monthly points budget (``app.ledger.budget``): ``set_budget`` and ``release_deferred``;
  its reports in ``app.ledger.liability``;
- ``balance``, ``locked_balance`` and ``locked_balance_of`` (both lock the wallet first),
  ``wallet_summary``, ``totals``, ``reconcile``. A wallet's described history is the wallet's read
  model (``app.wallet.history``).
"""

from app.ledger.accounts import balance, locked_balance, locked_balance_of, open_merchant_account
from app.ledger.debits import Guard, redeem
from app.ledger.expiry import (
    ExpiringLot,
    ExpiringPage,
    ExpiringWallet,
    ExpiryRun,
    expire_points,
    expiring_soon,
)
from app.ledger.issuance import Earning, IssueLine, IssueResult, issue_points
from app.ledger.policy import Caps, LedgerPolicy, policy_from_config
from app.ledger.postings import InsufficientPoints, Posted, adjust, check_adjustment, reverse
from app.ledger.queries import DayPoints, WalletSummary, wallet_summary
from app.ledger.reports import LedgerTotals, ReconcileReport, reconcile, totals

__all__ = [
    "Caps",
    "DayPoints",
    "Earning",
    "ExpiringLot",
    "ExpiringPage",
    "ExpiringWallet",
    "ExpiryRun",
    "Guard",
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
    "check_adjustment",
    "expire_points",
    "expiring_soon",
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
