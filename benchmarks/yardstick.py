"""The two yardsticks the redemption goal was set beside, as a bare WSGI app for gunicorn.

Not part of the platform: ``benchmarks/redemption.py`` serves it on the benchmark's own schema
(``YARDSTICK_DATABASE_URL``) with the same workers and load as the platform, so its figures say how
fast this machine is. They are a trivial JSON endpoint (about 8,000 requests/s where
the goal was set) and a bare one-transaction redeem endpoint through SQLAlchemy Core (about
1,300/s; ``one_transaction.redeem``). Both are plain Flask with none of the platform's extensions.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask
from one_transaction import accounts, redeem

app = Flask(__name__)
_engine = sa.create_engine(os.environ["YARDSTICK_DATABASE_URL"], pool_size=2, max_overflow=2)

with _engine.connect() as _connection:
    _wallets, _merchants = accounts(_connection, "wallet"), accounts(_connection, "merchant")
_engine.dispose()  # no connection outlives loading, should a process fork after it


@app.get("/")
def trivial() -> dict[str, bool]:
    return {"ok": True}


@app.post("/redeem")
def redeem_one() -> tuple[dict[str, int | None], int]:
    with _engine.begin() as connection:
        transaction = redeem(connection, _wallets, _merchants)
    if transaction is None:
        return {"transaction": None}, 409
    return {"transaction": transaction}, 201
