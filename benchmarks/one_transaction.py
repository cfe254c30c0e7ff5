"""The redemption goal's bare one-transaction redeem, shared by the yardstick and the floor app.

Lock a wallet, insert a ledger transaction and its two entries, update the balance: the shape the
goal's "bare one-transaction endpoint, about 1,300/s" was measured with.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

_LOCK = sa.text("SELECT balance FROM ledger_accounts WHERE id = :wallet FOR UPDATE")
_TRANSACTION = sa.text(
    "INSERT INTO ledger_transactions "
    "(kind, idempotency_key, fingerprint, reference_type, memo, created_at) "
    "VALUES ('redeem', :key, :fingerprint, 'redemption', 'yardstick', :now) RETURNING id"
)
_ENTRIES = sa.text(
    "INSERT INTO ledger_entries (transaction_id, account_id, amount) "
    "VALUES (:transaction, :wallet, -1), (:transaction, :merchant, 1)"
)
_DEBIT = sa.text("UPDATE ledger_accounts SET balance = balance - 1 WHERE id = :wallet")
_ACCOUNTS = sa.text("SELECT id FROM ledger_accounts WHERE type = :kind ORDER BY id")


def accounts(connection: sa.Connection, kind: str) -> list[int]:
    """The ids of the ledger's accounts of one type (``wallet``, ``merchant``)."""
    return list(connection.execute(_ACCOUNTS, {"kind": kind}).scalars())


def redeem(connection: sa.Connection, wallets: list[int], merchants: list[int]) -> int | None:
    """Move one point from a random wallet to a random merchant in the caller's transaction:
    the new ledger transaction's id, or None when the wallet is empty (nothing written)."""
    key = f"yardstick:{uuid.uuid4().hex}"
    values = {
        "wallet": random.choice(wallets),
        "merchant": random.choice(merchants),
        "key": key,
        "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
        "now": datetime.now(UTC),
    }
    if connection.execute(_LOCK, values).scalar_one() < 1:
        return None
    values["transaction"] = connection.execute(_TRANSACTION, values).scalar_one()
    connection.execute(_ENTRIES, values)
    connection.execute(_DEBIT, values)
    return values["transaction"]
