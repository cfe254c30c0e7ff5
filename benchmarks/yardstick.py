"""The two yardsticks the redemption goal was set beside, as a bare WSGI app for gunicorn.

Not part of the platform: ``benchmarks/redemption.py`` serves it on the benchmark's own schema
(``YARDSTICK_DATABASE_URL``) with the same workers and load as the platform, so its figures say how
fast this machine is. They are a trivial JSON endpoint (about 8,000 requests/s where
the goal was set) and a bare one-transaction redeem endpoint through SQLAlchemy Core (about
1,300/s): lock a wallet, insert a ledger transaction and its two entries, update the balance,
commit. Both are plain Flask with none of the platform's extensions.
"""

from __future__ import annotations

import hashlib
import os
import random
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask

app = Flask(__name__)
_engine = sa.create_engine(os.environ["YARDSTICK_DATABASE_URL"], pool_size=2, max_overflow=2)

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


def _accounts(kind: str) -> list[int]:
    with _engine.connect() as connection:
        query = sa.text("SELECT id FROM ledger_accounts WHERE type = :kind ORDER BY id")
        return list(connection.execute(query, {"kind": kind}).scalars())


_wallets, _merchants = _accounts("wallet"), _accounts("merchant")
_engine.dispose()  # no connection outlives loading, should a process fork after it


@app.get("/")
def trivial() -> dict[str, bool]:
    return {"ok": True}


@app.post("/redeem")
def redeem() -> tuple[dict[str, int], int]:
    key = f"yardstick:{uuid.uuid4().hex}"
    values = {
        "wallet": random.choice(_wallets),
        "merchant": random.choice(_merchants),
        "key": key,
        "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
        "now": datetime.now(UTC),
    }
    with _engine.begin() as connection:
        balance = connection.execute(_LOCK, values).scalar_one()
        if balance < 1:
            return {"balance": balance}, 409
        values["transaction"] = connection.execute(_TRANSACTION, values).scalar_one()
        connection.execute(_ENTRIES, values)
        connection.execute(_DEBIT, values)
    return {"transaction": values["transaction"]}, 201
