"""Postings: the checks every posting passes, reversals and the bureau's manual adjustments.

Every posting is idempotent: the same key with the same content returns the first transaction,
the same key with other content is refused. The wallet's conditional balance update
(``balance >= points``) is what makes a debit safe under concurrency: on PostgreSQL it waits for
the row lock and re-checks the condition on the newest balance; SQLite runs one writer at a time
(``BEGIN IMMEDIATE``). A refused posting raises a DomainError and the edge rolls back, so nothing
of it is kept. The redemption debit, the hot path, is in :mod:`app.ledger.debits`; accounts and
balances in :mod:`app.ledger.accounts`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import adapters, clock
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Checks, Conflict, DomainError, NotFound
from app.ledger.accounts import (
    ensure_wallets,
    require_wallet_holder,
    system_account_id,
    wallet_balance,
    wallet_id,
)
from app.ledger.models import (
    Account,
    AccountType,
    Entry,
    Transaction,
    TransactionKind,
    change_balance,
)
from app.ledger.policy import LedgerPolicy

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


def check_memo(memo: str) -> str:
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


def replay(session: Session, key: str, expected: str, wallet: int | None) -> Posted:
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
    return Posted(found.id, wallet_balance(conn, wallet) if wallet else 0, replayed=True)


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
        adapters.of(conn)
        .insert(transactions)
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
        return replay(session, key, content_fingerprint, wallet)
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
                change_balance(line.account_id, line.amount).returning(accounts.c.balance)
            ).scalar()
            if changed is None:
                raise InsufficientPoints(wallet_balance(conn, line.account_id), -line.amount)
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
        memo=check_memo(memo),
    )


def check_adjustment(points: object, reason: str | None) -> tuple[int, str]:
    """An adjustment's points (whole, not zero) and reason (given, 255 characters at most),
    refused together: the bureau's form shows both messages at once, and a request that waits
    for a second admin is checked as the posting will be."""
    checks = Checks()
    with checks.check():
        points = check_points(points, signed=True)
    with checks.check():
        reason = (reason or "").strip()
        if not reason:
            raise DomainError(
                "reason_required", _l("Give the reason for this adjustment."), field="reason"
            )
        if len(reason) > MAX_MEMO_LENGTH:
            raise DomainError(
                "memo_too_long", _l("Keep the text to 255 characters or fewer."), field="reason"
            )
    checks.refuse()
    assert isinstance(points, int) and reason is not None
    return points, reason


def adjust(
    session: Session,
    actor: Actor,
    *,
    holder_id: int,
    points: int,
    reason: str,
    idempotency_key: str,
    policy: LedgerPolicy,
    approval_threshold: int | None = None,
    approved_by: int | None = None,
) -> Posted:
    """The bureau adds (positive) or takes away (negative) points, with a reason; audited.

    Added points expire like issued ones, counted from today. More than ``approval_threshold``
    points either way are posted only with ``approved_by``, the second admin who approved them.
    """
    points, reason = check_adjustment(points, reason)
    if approval_threshold is not None and abs(points) > approval_threshold and not approved_by:
        raise DomainError(
            "approval_required",
            _l("An adjustment this large needs a second admin's approval."),
            field="points",
            status=409,
        )
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
            {"points": points, "reason": reason, "transaction_id": posted.transaction_id}
            | ({"approved_by": approved_by} if approved_by else {}),
        )
    return posted
