"""A wallet's history as its holder and the bureau read it: the wallet's read model.

History pages are keyset pages over the wallet's entries (index on account, transaction), newest
first, so the thousandth page costs what the first does. Each page is then described in a fixed
number of queries: credits get their activity, methodology version and calculation trace (computed
only for the lines shown), debits their offer and merchant. The ledger records transactions and
knows no domain; this module joins them to the reductions, methodologies and merchants they were
for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.accounts.services import normalise_mobile
from app.activities.models import Activity
from app.api.pagination import decode_id_cursor, encode_cursor
from app.errors import DomainError, NotFound
from app.ledger.batch import id_list_filter
from app.ledger.models import Account, Cap, Entry, Issuance, Transaction, TransactionKind
from app.ledger.postings import require_wallet_holder
from app.merchants.models import Merchant
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction
from app.reductions.traces import Methodologies, Tracer
from methodologies.text import Text

accounts = Account.__table__
entries = Entry.__table__
transactions = Transaction.__table__
issuances = Issuance.__table__
reductions = Reduction.__table__
versions = MethodologyVersion.__table__
merchants = Merchant.__table__
activities = Activity.__table__


@dataclass(frozen=True, slots=True)
class Credit:
    """Where an issue's points came from."""

    reduction_id: int
    activity_kind: str
    activity_name: Text | None  # the methodology's name, when its plugin is loaded
    occurred_at: datetime
    quantities: dict[str, Any]
    methodology_code: str
    methodology_version: str
    requested_points: int
    capped_points: int
    cap: Cap | None
    trace: Text | None
    reduction_g: int = 0
    #: Grams credited after the methodology's caps, and the cap that held back the rest.
    credited_g: int = 0
    methodology_cap: str | None = None
    activity_id: int | None = None  # the activity page explains the credit in full
    #: Points the city's monthly budget could not cover: "deferred" or "scaled" away.
    budget_points: int = 0
    budget_action: str | None = None

    @property
    def capped_g(self) -> int:
        return self.reduction_g - self.credited_g


@dataclass(frozen=True, slots=True)
class Debit:
    """Where a redemption's points went (and came back from, for its reversal)."""

    merchant_id: int | None
    merchant_name: str | None
    offer: str
    reference_type: str | None
    reference_id: int | None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    transaction_id: int
    kind: TransactionKind
    points: int  # signed: what this transaction did to the wallet
    posted_at: datetime
    memo: str
    expires_at: datetime | None
    reverses_id: int | None
    credit: Credit | None = None
    debit: Debit | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: list[HistoryItem]
    next_cursor: str | None


def find_holder(session: Session, mobile: str) -> User:
    """The resident or organisation with this mobile number (404 for anyone else)."""
    try:
        number = normalise_mobile(mobile)
    except DomainError as error:
        raise NotFound("wallet") from error
    user = session.scalar(sa.select(User).where(User.mobile == number))
    if user is None:
        raise NotFound("wallet")
    return require_wallet_holder(session, user.id)


def _entry_rows(session: Session, holder_id: int) -> tuple[int | None, sa.Select[Any]]:
    wallet = session.scalar(sa.select(accounts.c.id).where(accounts.c.holder_id == holder_id))
    stmt = (
        sa.select(
            entries.c.transaction_id,
            entries.c.amount,
            entries.c.expires_at,
            transactions.c.kind,
            transactions.c.created_at,
            transactions.c.memo,
            transactions.c.reference_type,
            transactions.c.reference_id,
            transactions.c.reverses_id,
        )
        .join(transactions, transactions.c.id == entries.c.transaction_id)
        .where(entries.c.account_id == wallet)
    )
    return wallet, stmt


def history(
    session: Session,
    holder_id: int,
    *,
    limit: int = 50,
    cursor: str | None = None,
    methodologies: Methodologies | None = None,
) -> HistoryPage:
    """The wallet's transactions, newest first, ``limit`` at a time."""
    before = decode_id_cursor(cursor) if cursor else None
    wallet, stmt = _entry_rows(session, holder_id)
    if wallet is None:
        return HistoryPage([], None)
    if before is not None:
        stmt = stmt.where(entries.c.transaction_id < before)
    rows = session.execute(stmt.order_by(entries.c.transaction_id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = _describe(session, rows, methodologies or {})
    return HistoryPage(items, encode_cursor([rows[-1].transaction_id]) if more else None)


def history_item(
    session: Session,
    holder_id: int,
    transaction_id: int,
    *,
    methodologies: Methodologies | None = None,
) -> HistoryItem:
    """One transaction of the holder's wallet; 404 for any other, whether it exists or not."""
    wallet, stmt = _entry_rows(session, holder_id)
    row = (
        session.execute(stmt.where(entries.c.transaction_id == transaction_id)).one_or_none()
        if wallet is not None
        else None
    )
    if row is None:
        raise NotFound("transaction")
    return _describe(session, [row], methodologies or {})[0]


def _describe(session: Session, rows: list[Any], methodologies: Methodologies) -> list[HistoryItem]:
    issued = [row.reference_id for row in rows if row.kind == TransactionKind.ISSUE]
    spent = [
        row.transaction_id
        for row in rows
        if row.kind in (TransactionKind.REDEEM, TransactionKind.REVERSE)
    ]
    reversed_ids = [row.reverses_id for row in rows if row.kind == TransactionKind.REVERSE]
    credits = _credits(session, issued, methodologies) if issued else {}
    merchant_of = _merchants(session, spent) if spent else {}
    # A reversed redemption names the offer its reversal gave the points back for.
    offer_of = _memos(session, reversed_ids) if reversed_ids else {}
    items = []
    for row in rows:
        debit = None
        merchant = merchant_of.get(row.transaction_id)
        if merchant is not None or row.kind == TransactionKind.REDEEM:
            merchant_id, name = merchant or (None, None)
            offer = offer_of.get(row.reverses_id, "") if row.reverses_id else row.memo
            debit = Debit(merchant_id, name, offer, row.reference_type, row.reference_id)
        items.append(
            HistoryItem(
                transaction_id=row.transaction_id,
                kind=TransactionKind(row.kind),
                points=row.amount,
                posted_at=row.created_at,
                memo=row.memo,
                expires_at=row.expires_at,
                reverses_id=row.reverses_id,
                credit=credits.get(row.reference_id) if row.kind == TransactionKind.ISSUE else None,
                debit=debit,
            )
        )
    return items


def _memos(session: Session, transaction_ids: list[int]) -> dict[int, str]:
    conn = session.connection()
    return dict(
        session.execute(
            sa.select(transactions.c.id, transactions.c.memo).where(
                id_list_filter(conn, transactions.c.id, transaction_ids)
            )
        ).all()
    )


def _merchants(session: Session, transaction_ids: list[int]) -> dict[int, tuple[int, str]]:
    conn = session.connection()
    rows = session.execute(
        sa.select(entries.c.transaction_id, merchants.c.id, merchants.c.name)
        .join(accounts, accounts.c.id == entries.c.account_id)
        .join(merchants, merchants.c.id == accounts.c.merchant_id)
        .where(id_list_filter(conn, entries.c.transaction_id, transaction_ids))
    )
    return {transaction_id: (merchant_id, name) for transaction_id, merchant_id, name in rows}


def _credits(
    session: Session, reduction_ids: list[int], methodologies: Methodologies
) -> dict[int, Credit]:
    conn = session.connection()
    rows = session.execute(
        sa.select(
            issuances.c.reduction_id,
            issuances.c.requested_points,
            issuances.c.capped_points,
            issuances.c.cap,
            issuances.c.budget_points,
            issuances.c.budget_action,
            reductions.c.activity_kind,
            reductions.c.occurred_at,
            reductions.c.quantities,
            reductions.c.self_reported,
            reductions.c.reduction_g,
            reductions.c.credited_g,
            reductions.c.cap.label("methodology_cap"),
            reductions.c.trace,
            versions.c.id.label("version_id"),
            versions.c.code,
            versions.c.version,
            versions.c.plugin_version,
            versions.c.parameters,
            activities.c.id.label("activity_id"),
        )
        .join(reductions, reductions.c.id == issuances.c.reduction_id)
        .join(versions, versions.c.id == reductions.c.methodology_version_id)
        .outerjoin(activities, activities.c.reduction_id == reductions.c.id)
        .where(id_list_filter(conn, issuances.c.reduction_id, reduction_ids))
    ).all()
    tracer = Tracer(methodologies)
    return {
        row.reduction_id: Credit(
            reduction_id=row.reduction_id,
            activity_kind=row.activity_kind,
            activity_name=tracer.name(row.code),
            occurred_at=row.occurred_at,
            quantities=row.quantities,
            methodology_code=row.code,
            methodology_version=row.version,
            requested_points=row.requested_points,
            capped_points=row.capped_points,
            cap=Cap(row.cap) if row.cap else None,
            trace=tracer.trace(row),
            reduction_g=row.reduction_g,
            credited_g=row.reduction_g if row.credited_g is None else row.credited_g,
            methodology_cap=row.methodology_cap,
            activity_id=row.activity_id,
            budget_points=row.budget_points,
            budget_action=row.budget_action,
        )
        for row in rows
    }
