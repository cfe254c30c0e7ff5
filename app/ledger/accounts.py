"""Ledger accounts: wallets, merchants' clearing accounts and the system accounts; balances and
the wallet's lock.

Wallets and clearing accounts are opened on first use, concurrency-safe (``ON CONFLICT DO
NOTHING``); a wallet's stored balance is what every debit checks, under the wallet's row lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import adapters, clock
from app.accounts.models import User
from app.accounts.roles import WALLET_ROLES
from app.errors import NotFound
from app.ledger.models import Account, AccountType

accounts = Account.__table__


def system_account_id(conn: sa.Connection, account_type: AccountType) -> int:
    """The single issuance, expiry or adjustment account (made by the migration)."""
    account_id = conn.execute(
        sa.select(accounts.c.id).where(
            accounts.c.type == account_type,
            accounts.c.holder_id.is_(None),
            accounts.c.merchant_id.is_(None),
        )
    ).scalar()
    if account_id is None:
        raise RuntimeError(f"the {account_type} account is missing; run the migrations")
    return account_id


def ensure_wallets(conn: sa.Connection, holder_ids: list[int], now: datetime) -> None:
    """Open a wallet for each holder that has none, in one statement (concurrency-safe)."""
    adapters.of(conn).open_wallets(conn, holder_ids, now)


def wallet_id(session: Session, holder_id: int) -> int | None:
    return session.scalar(sa.select(accounts.c.id).where(accounts.c.holder_id == holder_id))


def balance(session: Session, holder_id: int) -> int:
    """The holder's points; 0 for a holder whose wallet has not been opened yet."""
    value = session.scalar(sa.select(accounts.c.balance).where(accounts.c.holder_id == holder_id))
    return value or 0


def _lock_wallet(holder_id: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """The holder's balance, the wallet locked until the transaction ends."""
    return sa.select(accounts.c.balance).where(accounts.c.holder_id == holder_id).with_for_update()


_LOCK_WALLET = _lock_wallet(sa.bindparam("holder_id"))


def locked_balance(session: Session, holder_id: int) -> int:
    """The holder's points, with the wallet locked until the transaction ends (0: no wallet).

    A caller that checks more than the balance before a debit (a redemption's per-resident
    limits) holds this lock so that the holder's concurrent debits are checked one after another.
    """
    return session.connection().scalar(_LOCK_WALLET, {"holder_id": holder_id}) or 0


def locked_balance_of(holder_id: sa.ColumnElement[int]) -> sa.ScalarSelect[Any]:
    """:func:`locked_balance` as a scalar subquery.

    In a statement that names the holder (a redemption's burn of its token), it locks the wallet
    in that statement's round trip; a wallet a concurrent transaction changed is read as that
    transaction committed it. NULL: no wallet.
    """
    return _lock_wallet(holder_id).scalar_subquery()


def require_wallet_holder(session: Session, holder_id: int) -> User:
    """The resident or organisation; anyone else is "no such wallet" (404, like a wrong id)."""
    user = session.get(User, holder_id)
    if user is None or user.role not in WALLET_ROLES:
        raise NotFound("wallet")
    return user


def open_merchant_account(session: Session, merchant_id: int) -> int:
    """The merchant's redemption clearing account, opened on first use."""
    conn = session.connection()
    # The row the account's foreign key would point to: the ledger knows its key, not merchants.
    [merchant_key] = accounts.c.merchant_id.foreign_keys
    merchant = merchant_key.column
    if session.scalar(sa.select(merchant).where(merchant == merchant_id)) is None:
        raise NotFound("merchant")
    conn.execute(
        adapters.of(conn).insert(accounts).on_conflict_do_nothing(index_elements=["merchant_id"]),
        {"type": AccountType.MERCHANT, "merchant_id": merchant_id, "created_at": clock.now()},
    )
    return conn.execute(
        sa.select(accounts.c.id).where(accounts.c.merchant_id == merchant_id)
    ).scalar_one()


def wallet_balance(conn: sa.Connection, wallet: int) -> int:
    """The balance of the wallet account ``wallet`` (an account id)."""
    return conn.execute(sa.select(accounts.c.balance).where(accounts.c.id == wallet)).scalar_one()
