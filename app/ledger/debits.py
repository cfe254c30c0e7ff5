"""The redemption debit, the ledger's hot path: points from a wallet into a merchant's clearing
account, optionally conditional on a caller's :class:`Guard`.

Its statements are the backend adapter's (:meth:`app.adapters.base.Adapter.debit`): one round
trip on PostgreSQL, the wallet's balance update last so its row lock is held for the shortest
time. A guard lets a caller make the debit conditional on its own rule and write its own row in
the debit's statement (a redemption's stock, limits and redemption row) without a round trip of
its own; the caller builds it from its own tables with SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app import adapters, clock
from app.adapters.base import Guard
from app.ledger.accounts import open_merchant_account, require_wallet_holder, wallet_balance
from app.ledger.models import TransactionKind
from app.ledger.postings import (
    InsufficientPoints,
    Posted,
    check_key,
    check_memo,
    check_points,
    fingerprint,
    replay,
)

__all__ = ["Guard", "redeem"]


def redeem(
    session: Session,
    *,
    holder_id: int,
    merchant_id: int,
    points: int,
    idempotency_key: str,
    reference_type: str = "redemption",
    reference_id: int | None = None,
    memo: str = "",
    guard: Guard | None = None,
    guard_params: Mapping[str, Any] | None = None,
    record: Mapping[str, Any] | None = None,
) -> Posted | None:
    """Debit ``points`` from the holder's wallet into the merchant's clearing account.

    ``memo`` is what the resident reads in the history (the offer's title). Raises
    ``InsufficientPoints`` (409, with the balance), ``invalid_points`` (422),
    ``wallet_not_found`` (404) or ``idempotency_conflict`` (409); the caller rolls back.
    With a ``guard`` (its parameters in ``guard_params``, its row's values in ``record``) it
    returns None when the guard yielded no row: then nothing was written.
    """
    points = check_points(points)
    key = check_key(idempotency_key)
    params = {
        **(guard_params or {}),
        "holder_id": holder_id,
        "merchant_id": merchant_id,
        "points": points,
        "key": key,
        "fingerprint": fingerprint(
            TransactionKind.REDEEM, holder_id, merchant_id, points, reference_type, reference_id
        ),
        "reference_type": reference_type,
        "reference_id": reference_id,
        "memo": check_memo(memo),
        "now": clock.now(),
    }
    conn = session.connection()
    adapter = adapters.of(conn)
    debited = adapter.debit(conn, params, guard, record)
    if debited.wallet_id is not None and debited.merchant_account_id is None:
        open_merchant_account(session, merchant_id)  # the first redemption at this merchant
        debited = adapter.debit(conn, params, guard, record)
    if debited.wallet_id is None:
        require_wallet_holder(session, holder_id)
        raise InsufficientPoints(0, points)
    if not debited.guard_passed:
        return None
    if debited.transaction_id is None:
        if guard is not None:  # the guard's writes stand without their debit: never keep them
            raise RuntimeError(f"the guarded debit's key {key!r} was used before")
        return replay(session, key, params["fingerprint"], debited.wallet_id)
    if debited.balance is None:
        raise InsufficientPoints(wallet_balance(conn, debited.wallet_id), points)
    return Posted(debited.transaction_id, debited.balance)
