"""Crediting many wallets at once for something other than a reduction (a sale's proceeds).

Each credit is its own ``adjust`` transaction from the adjustment account, naming what caused it
(``reference_type``, ``reference_id``) and saying so in its memo, so the wallet's history shows it
and the ledger still sums to zero. Rows go in through the backend's adapter, as issuance does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.orm import Session

from app.ledger import batch
from app.ledger.accounts import ensure_wallets, system_account_id
from app.ledger.issuance import lock_wallets_of
from app.ledger.models import AccountType, TransactionKind
from app.ledger.policy import LedgerPolicy
from app.ledger.postings import fingerprint


class Credit(NamedTuple):
    holder_id: int
    points: int
    idempotency_key: str
    reference_id: int
    memo: str


def credit_many(
    session: Session,
    credits: Sequence[Credit],
    *,
    reference_type: str,
    policy: LedgerPolicy,
    now: datetime,
) -> dict[int, int]:
    """Post each credit (points > 0) in the caller's transaction; holder → transaction id."""
    todo = sorted((c for c in credits if c.points > 0), key=lambda c: c.holder_id)
    if not todo:
        return {}
    session.flush()
    conn = session.connection()
    holders = [c.holder_id for c in todo]
    ensure_wallets(conn, holders, now)
    wallets = lock_wallets_of(conn, holders)
    transaction_ids = batch.allocate_transaction_ids(conn, len(todo))
    source = system_account_id(conn, AccountType.ADJUSTMENT)
    expires_at = policy.expires_at(now)
    kind = TransactionKind.ADJUST.value
    transaction_rows, entry_rows, deltas, posted = [], [], {}, {}
    for credit, transaction_id in zip(todo, transaction_ids, strict=True):
        wallet = wallets[credit.holder_id]
        transaction_rows.append((
            transaction_id, kind, credit.idempotency_key,
            fingerprint(kind, credit.holder_id, credit.points, reference_type, credit.reference_id),
            reference_type, credit.reference_id, credit.memo, now,
        ))  # fmt: skip
        entry_rows.append((transaction_id, wallet, credit.points, expires_at))
        entry_rows.append((transaction_id, source, -credit.points, None))
        deltas[wallet] = deltas.get(wallet, 0) + credit.points
        posted[credit.holder_id] = transaction_id
    batch.insert_rows(conn, "ledger_transactions", transaction_rows)
    batch.insert_rows(conn, "ledger_entries", entry_rows)
    batch.change_wallet_balances(conn, deltas)
    return posted
