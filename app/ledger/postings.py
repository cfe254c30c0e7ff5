"""Single postings: redemption debits, reversals and the bureau's manual adjustments.

Every posting is idempotent: the same key with the same content returns the first transaction,
the same key with other content is refused. The wallet's conditional balance update
(``balance >= points``) is what makes a debit safe under concurrency: on PostgreSQL it waits for
the row lock and re-checks the condition on the newest balance; SQLite runs one writer at a time
(``BEGIN IMMEDIATE``). A refused posting raises a DomainError and the edge rolls back, so nothing
of it is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import User
from app.accounts.roles import WALLET_ROLES
from app.audit import services as audit
from app.audit.services import Actor
from app.db import UTCDateTime
from app.errors import Conflict, DomainError, NotFound
from app.ledger.batch import bigint_array, is_postgresql
from app.ledger.models import Account, AccountType, Entry, Transaction, TransactionKind
from app.ledger.policy import LedgerPolicy
from app.merchants.models import Merchant

accounts = Account.__table__
transactions = Transaction.__table__
entries = Entry.__table__

MAX_KEY_LENGTH = 100
MAX_MEMO_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Posted:
    """A posted (or, for a retried key, found) transaction and the wallet's balance after it."""

    transaction_id: int
    balance: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class _Line:
    account_id: int
    amount: int
    expires_at: datetime | None = None
    wallet: bool = False


# -- checks -------------------------------------------------------------------------------------


def check_points(points: object, *, signed: bool = False) -> int:
    """A whole, non-zero number of points (positive unless ``signed``)."""
    if isinstance(points, bool) or not isinstance(points, int):
        raise DomainError(
            "invalid_points", _l("Points must be a whole number."), field="points", status=422
        )
    if points == 0 or (points < 0 and not signed):
        message = _l("Points must not be zero.") if signed else _l("Points must be more than zero.")
        raise DomainError("invalid_points", message, field="points", status=422)
    return points


def check_key(key: object) -> str:
    if not isinstance(key, str) or not 1 <= len(key.strip()) <= MAX_KEY_LENGTH:
        raise DomainError(
            "invalid_idempotency_key",
            _l("The idempotency key must be 1 to 100 characters."),
            field="idempotency_key",
        )
    return key.strip()


def _check_memo(memo: str) -> str:
    memo = (memo or "").strip()
    if len(memo) > MAX_MEMO_LENGTH:
        raise DomainError(
            "memo_too_long", _l("Keep the text to 255 characters or fewer."), field="memo"
        )
    return memo


def fingerprint(*content: object) -> str:
    """The content a key stands for (kind, accounts or holders, amounts, reference): a retry
    must send the same. Parts are whole numbers, enum values, strings or None."""
    return hashlib.sha256("\x1f".join(map(str, content)).encode()).hexdigest()


class InsufficientPoints(Conflict):
    """The wallet holds fewer points than asked for (409, with the balance and the points).

    ``field``: the request field that asked for the points, if the caller named them.
    """

    def __init__(self, balance: int, points: int, *, field: str | None = "points") -> None:
        super().__init__(
            "insufficient_points",
            _l(
                "Not enough points: the balance is %(balance)s points and this needs %(points)s.",
                balance=balance,
                points=points,
            ),
            field=field,
            details={"balance": balance, "points": points},
        )


def _idempotency_conflict() -> DomainError:
    return Conflict(
        "idempotency_conflict",
        _l("This idempotency key was already used for a different transaction."),
        field="idempotency_key",
    )


# -- accounts -----------------------------------------------------------------------------------


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


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    dialect = postgresql if is_postgresql(conn) else sqlite
    return dialect.insert(table)


_OPEN_WALLETS_POSTGRESQL = sa.text(
    "INSERT INTO ledger_accounts (type, holder_id, balance, created_at) "
    "SELECT 'wallet', holder, 0, :now FROM unnest(CAST(:holders AS bigint[])) AS holder "
    "ON CONFLICT (holder_id) DO NOTHING"
).bindparams(sa.bindparam("now", type_=UTCDateTime))


def ensure_wallets(conn: sa.Connection, holder_ids: list[int], now: datetime) -> None:
    """Open a wallet for each holder that has none, in one statement (concurrency-safe)."""
    if not holder_ids:
        return
    if is_postgresql(conn):
        conn.execute(_OPEN_WALLETS_POSTGRESQL, {"holders": bigint_array(holder_ids), "now": now})
        return
    conn.execute(
        _insert(conn, accounts).on_conflict_do_nothing(index_elements=["holder_id"]),
        [
            {"type": AccountType.WALLET, "holder_id": h, "balance": 0, "created_at": now}
            for h in holder_ids
        ],
    )


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


def locked_balance_of(holder_id: sa.ColumnElement[int]) -> sa.LateralFromClause:
    """:func:`locked_balance` as a lateral subquery (column ``balance``), PostgreSQL only.

    Joined to a statement that names the holder (a redemption's burn of its token), it locks the
    wallet in that statement's round trip; a wallet a concurrent transaction changed is read as
    that transaction committed it. NULL: no wallet.
    """
    return _lock_wallet(holder_id).lateral("locked_wallet")


def require_wallet_holder(session: Session, holder_id: int) -> User:
    """The resident or organisation; anyone else is "no such wallet" (404, like a wrong id)."""
    user = session.get(User, holder_id)
    if user is None or user.role not in WALLET_ROLES:
        raise NotFound("wallet")
    return user


def open_merchant_account(session: Session, merchant_id: int) -> int:
    """The merchant's redemption clearing account, opened on first use."""
    conn = session.connection()
    if session.scalar(sa.select(Merchant.id).where(Merchant.id == merchant_id)) is None:
        raise NotFound("merchant")
    conn.execute(
        _insert(conn, accounts).on_conflict_do_nothing(index_elements=["merchant_id"]),
        {"type": AccountType.MERCHANT, "merchant_id": merchant_id, "created_at": clock.now()},
    )
    return conn.execute(
        sa.select(accounts.c.id).where(accounts.c.merchant_id == merchant_id)
    ).scalar_one()


# -- redemption debit (the hot path) ------------------------------------------------------------

# One round trip on PostgreSQL: the transaction and its entries first, the conditional balance
# update last, so the wallet's row lock is held for the rest of one statement and the commit.
# It goes to psycopg on the session's own connection and transaction: SQLAlchemy's execution
# layer would cost a third of the debit's CPU. The accounts (``w``, ``m``) and the posting
# (``t``, ``e``, ``u``) are separate parts so that a :class:`Guard` can sit between them.
_DEBIT_ACCOUNTS = """
w AS (SELECT id FROM ledger_accounts WHERE holder_id = %(holder_id)s),
m AS (SELECT id FROM ledger_accounts WHERE merchant_id = %(merchant_id)s)"""
_DEBIT_POSTING = """
t AS (
    INSERT INTO ledger_transactions
        (kind, idempotency_key, fingerprint, reference_type, reference_id, memo, created_at)
    SELECT 'redeem', CAST(%(key)s AS varchar), CAST(%(fingerprint)s AS varchar),
           CAST(%(reference_type)s AS varchar), CAST(%(reference_id)s AS bigint),
           CAST(%(memo)s AS varchar), %(now)s
    FROM {sources}
    ON CONFLICT DO NOTHING
    RETURNING id
),
e AS (
    INSERT INTO ledger_entries (transaction_id, account_id, amount)
    SELECT t.id, w.id, -CAST(%(points)s AS bigint) FROM t, w
    UNION ALL
    SELECT t.id, m.id, CAST(%(points)s AS bigint) FROM t, m
),
u AS (
    UPDATE ledger_accounts SET balance = balance - CAST(%(points)s AS bigint)
    WHERE id = (SELECT id FROM w) AND balance >= CAST(%(points)s AS bigint)
      AND EXISTS (SELECT FROM t)
    RETURNING balance
)"""
_DEBIT_RESULT = (
    "(SELECT id FROM w), (SELECT id FROM m), (SELECT id FROM t), (SELECT balance FROM u)"
)
_REDEEM_POSTGRESQL = (
    f"WITH {_DEBIT_ACCOUNTS},{_DEBIT_POSTING.format(sources='w, m')}\nSELECT {_DEBIT_RESULT}"
)


@dataclass(frozen=True, slots=True)
class Guard:
    """What a redemption debit is conditional on, and what it writes besides, in the debit's own
    statement (PostgreSQL): a caller's conditional writes then cost no round trip of their own.

    ``condition`` is the body of a CTE named ``guard``; the debit is written only when it yields
    a row. It may read the holder's wallet ``w`` and the merchant's clearing account ``m``, and it
    must require ``m`` (``EXISTS (SELECT FROM m)``): when the account is missing it is opened and
    the statement runs again. ``after`` are further CTEs (``name AS (…)``, comma-separated) that
    may read the debit's transaction ``t`` (its ``id``). Both take psycopg's ``%(name)s``
    parameters: the caller's, and the debit's own (``holder_id``, ``merchant_id``, ``points``,
    ``reference_id``, ``memo``, ``now``). Build a guard once and pass its parameters per call.
    """

    condition: str
    after: str
    statement: str = field(init=False)

    def __post_init__(self) -> None:
        posting = _DEBIT_POSTING.format(sources="w, m, guard")
        object.__setattr__(
            self,
            "statement",
            f"WITH {_DEBIT_ACCOUNTS},\nguard AS ({self.condition}),{posting},\n{self.after}\n"
            f"SELECT {_DEBIT_RESULT}, EXISTS (SELECT FROM guard)",
        )


_FIND_ACCOUNTS_SQLITE = sa.text(
    "SELECT (SELECT id FROM ledger_accounts WHERE holder_id = :holder_id), "
    "(SELECT id FROM ledger_accounts WHERE merchant_id = :merchant_id)"
)
_INSERT_TRANSACTION_SQLITE = sa.text(
    "INSERT INTO ledger_transactions "
    "(kind, idempotency_key, fingerprint, reference_type, reference_id, memo, created_at) "
    "VALUES ('redeem', :key, :fingerprint, :reference_type, :reference_id, :memo, :now) "
    "ON CONFLICT DO NOTHING RETURNING id"
).bindparams(sa.bindparam("now", type_=UTCDateTime))
_INSERT_ENTRIES_SQLITE = sa.text(
    "INSERT INTO ledger_entries (transaction_id, account_id, amount) "
    "VALUES (:transaction_id, :wallet_id, -:points), "
    "(:transaction_id, :merchant_account_id, :points)"
)
_DEBIT_SQLITE = sa.text(
    "UPDATE ledger_accounts SET balance = balance - :points "
    "WHERE id = :wallet_id AND balance >= :points RETURNING balance"
)


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
) -> Posted | None:
    """Debit ``points`` from the holder's wallet into the merchant's clearing account.

    ``memo`` is what the resident reads in the history (the offer's title). Raises
    ``insufficient_points`` (409, with the balance), ``invalid_points`` (422),
    ``wallet_not_found`` (404) or ``idempotency_conflict`` (409); the caller rolls back.
    With a ``guard`` (PostgreSQL only) it returns None when the guard yielded no row: then
    nothing was written.
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
        "memo": _check_memo(memo),
        "now": clock.now(),
    }
    conn = session.connection()
    if guard is not None:
        if not is_postgresql(conn):
            raise ValueError("a guarded debit needs PostgreSQL")
        driver: Any = conn.connection.driver_connection

        def run(conn: sa.Connection, params: dict[str, Any]) -> tuple[Any, ...]:
            return driver.execute(guard.statement, params).fetchone()

    else:
        run = _redeem_postgresql if is_postgresql(conn) else _redeem_sqlite
    wallet, merchant_account, transaction_id, new_balance, *guarded = run(conn, params)
    if wallet is not None and merchant_account is None:
        open_merchant_account(session, merchant_id)  # the first redemption at this merchant
        wallet, merchant_account, transaction_id, new_balance, *guarded = run(conn, params)
    if wallet is None:
        require_wallet_holder(session, holder_id)
        raise InsufficientPoints(0, points)
    if guarded and not guarded[0]:
        return None
    if transaction_id is None:
        if guard is not None:  # the guard's writes stand without their debit: never keep them
            raise RuntimeError(f"the guarded debit's key {key!r} was used before")
        return _replay(session, key, params["fingerprint"], wallet)
    if new_balance is None:
        raise InsufficientPoints(_wallet_balance(conn, wallet), points)
    return Posted(transaction_id, new_balance)


def _redeem_postgresql(conn: sa.Connection, params: dict[str, Any]) -> tuple[Any, ...]:
    driver: Any = conn.connection.driver_connection
    return driver.execute(_REDEEM_POSTGRESQL, params).fetchone()


def _redeem_sqlite(conn: sa.Connection, params: dict[str, Any]) -> tuple[Any, ...]:
    wallet, merchant_account = conn.execute(_FIND_ACCOUNTS_SQLITE, params).one()
    if wallet is None or merchant_account is None:
        return wallet, merchant_account, None, None
    transaction_id = conn.execute(_INSERT_TRANSACTION_SQLITE, params).scalar()
    if transaction_id is None:
        return wallet, merchant_account, None, None
    ids = {"transaction_id": transaction_id, "wallet_id": wallet}
    conn.execute(_INSERT_ENTRIES_SQLITE, {**params, **ids, "merchant_account_id": merchant_account})
    new_balance = conn.execute(_DEBIT_SQLITE, {**params, **ids}).scalar()
    return wallet, merchant_account, transaction_id, new_balance


def _wallet_balance(conn: sa.Connection, wallet: int) -> int:
    return conn.execute(sa.select(accounts.c.balance).where(accounts.c.id == wallet)).scalar_one()


def _replay(session: Session, key: str, expected: str, wallet: int | None) -> Posted:
    """The key was used before: the same content returns that transaction, other content is
    refused."""
    conn = session.connection()
    found = conn.execute(
        sa.select(transactions.c.id, transactions.c.fingerprint).where(
            transactions.c.idempotency_key == key
        )
    ).one_or_none()
    if found is None:
        raise RuntimeError("a transaction insert did nothing, yet its key is not taken")
    if found.fingerprint != expected:
        raise _idempotency_conflict()
    return Posted(found.id, _wallet_balance(conn, wallet) if wallet else 0, replayed=True)


# -- general postings: reversals and adjustments ------------------------------------------------


def _post(
    session: Session,
    *,
    kind: TransactionKind,
    lines: list[_Line],
    key: str,
    content_fingerprint: str,
    reference_type: str | None = None,
    reference_id: int | None = None,
    reverses_id: int | None = None,
    memo: str = "",
) -> Posted:
    """Insert one transaction and its entries, then change the wallets' balances (last)."""
    if sum(line.amount for line in lines) != 0:
        raise ValueError("a transaction's entries must sum to zero")
    conn = session.connection()
    wallet = next((line.account_id for line in lines if line.wallet), None)
    transaction_id = conn.execute(
        _insert(conn, transactions)
        .values(
            kind=kind,
            idempotency_key=key,
            fingerprint=content_fingerprint,
            reference_type=reference_type,
            reference_id=reference_id,
            reverses_id=reverses_id,
            memo=memo,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing()
        .returning(transactions.c.id)
    ).scalar()
    if transaction_id is None:
        if reverses_id is not None and not _key_taken(conn, key):
            raise Conflict("already_reversed", _l("This transaction was already reversed."))
        return _replay(session, key, content_fingerprint, wallet)
    conn.execute(
        entries.insert(),
        [
            {
                "transaction_id": transaction_id,
                "account_id": line.account_id,
                "amount": line.amount,
                "expires_at": line.expires_at,
            }
            for line in lines
        ],
    )
    new_balance = 0
    for line in lines:
        if line.wallet:
            changed = conn.execute(
                accounts.update()
                .where(accounts.c.id == line.account_id, accounts.c.balance + line.amount >= 0)
                .values(balance=accounts.c.balance + line.amount)
                .returning(accounts.c.balance)
            ).scalar()
            if changed is None:
                raise InsufficientPoints(_wallet_balance(conn, line.account_id), -line.amount)
            new_balance = changed
    return Posted(transaction_id, new_balance)


def _key_taken(conn: sa.Connection, key: str) -> bool:
    return (
        conn.execute(
            sa.select(transactions.c.id).where(transactions.c.idempotency_key == key)
        ).scalar()
        is not None
    )


def reverse(
    session: Session, transaction_id: int, *, idempotency_key: str, memo: str = ""
) -> Posted:
    """Post the mirror image of a transaction (a mistaken redemption, an adjustment …).

    A transaction is reversed at most once and a reversal is never reversed. Reversing a credit
    needs the points to still be in the wallet. Points given back by reversing a debit return to
    the oldest lots (they expire with them). The caller audits the action (it knows who and why).
    """
    key = check_key(idempotency_key)
    conn = session.connection()
    kind = conn.execute(
        sa.select(transactions.c.kind).where(transactions.c.id == transaction_id)
    ).scalar()
    if kind is None:
        raise NotFound("transaction")
    if kind == TransactionKind.REVERSE:
        raise DomainError("not_reversible", _l("A reversal cannot itself be reversed."))
    original = conn.execute(
        sa.select(entries.c.account_id, entries.c.amount, entries.c.expires_at, accounts.c.type)
        .join(accounts, accounts.c.id == entries.c.account_id)
        .where(entries.c.transaction_id == transaction_id)
        .order_by(entries.c.account_id)
    ).all()
    lines = [
        # A reversed credit keeps its expiry so the lot it came from shrinks (see expiry.py).
        _Line(row.account_id, -row.amount, row.expires_at, row.type == AccountType.WALLET)
        for row in original
    ]
    return _post(
        session,
        kind=TransactionKind.REVERSE,
        lines=lines,
        key=key,
        content_fingerprint=fingerprint(TransactionKind.REVERSE, transaction_id),
        reference_type="transaction",
        reference_id=transaction_id,
        reverses_id=transaction_id,
        memo=_check_memo(memo),
    )


def adjust(
    session: Session,
    actor: Actor,
    *,
    holder_id: int,
    points: int,
    reason: str,
    idempotency_key: str,
    policy: LedgerPolicy,
) -> Posted:
    """The bureau adds (positive) or takes away (negative) points, with a reason; audited.

    Added points expire like issued ones, counted from today.
    """
    points = check_points(points, signed=True)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            "reason_required", _l("Give the reason for this adjustment."), field="reason"
        )
    reason = _check_memo(reason)
    key = check_key(idempotency_key)
    require_wallet_holder(session, holder_id)
    conn = session.connection()
    now = clock.now()
    ensure_wallets(conn, [holder_id], now)
    wallet = wallet_id(session, holder_id)
    assert wallet is not None
    expires_at = policy.expires_at(now) if points > 0 else None
    posted = _post(
        session,
        kind=TransactionKind.ADJUST,
        lines=[
            _Line(wallet, points, expires_at, wallet=True),
            _Line(system_account_id(conn, AccountType.ADJUSTMENT), -points),
        ],
        key=key,
        content_fingerprint=fingerprint(TransactionKind.ADJUST, holder_id, points),
        reference_type="adjustment",
        memo=reason,
    )
    if not posted.replayed:
        audit.record(
            session,
            actor,
            "ledger.adjust",
            "wallet",
            holder_id,
            {"points": points, "reason": reason, "transaction_id": posted.transaction_id},
        )
    return posted
