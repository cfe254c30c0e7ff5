"""Ledger test data: verified reductions to issue, merchants to redeem at, a policy without caps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.ledger.models import Account, Entry, Transaction
from app.ledger.policy import Caps, LedgerPolicy
from app.merchants.models import Merchant, MerchantKind, MerchantStatus
from app.methodology.models import MethodologyVersion, VersionStatus, version_label
from app.reductions.models import Reduction, ReductionStatus
from methodologies.transit import BusRide

SHANGHAI = ZoneInfo("Asia/Shanghai")
_versions = itertools.count(1)


def policy(**caps: object) -> LedgerPolicy:
    """The city's rules as tests need them: no caps unless given, default expiry."""
    by_methodology = caps.pop("by_methodology", {})
    expiry_days = caps.pop("expiry_days", None)
    return LedgerPolicy(
        zone=SHANGHAI,
        caps=Caps(**caps),  # type: ignore[arg-type]
        caps_by_methodology=by_methodology,  # type: ignore[arg-type]
        expiry_days=expiry_days,  # type: ignore[arg-type]
    )


def make_version(session: Session, code: str = "bus") -> MethodologyVersion:
    """A version of the bus plugin's defaults under ``code`` (a draft is enough here)."""
    revision = next(_versions)
    version = MethodologyVersion(
        code=code,
        version=version_label(BusRide.version, revision),
        plugin_version=BusRide.version,
        revision=revision,
        activity_kind="bus_ride" if code == "bus" else code,
        status=VersionStatus.DRAFT,
        parameters=BusRide.default_parameters(),
    )
    session.add(version)
    session.flush()
    return version


def make_reduction(
    session: Session,
    participant_id: int,
    grams: int,
    *,
    version: MethodologyVersion,
    occurred_at: datetime | None = None,
    status: ReductionStatus = ReductionStatus.VERIFIED,
    quantities: dict[str, str] | None = None,
) -> Reduction:
    reduction = Reduction(
        participant_id=participant_id,
        methodology_version_id=version.id,
        activity_kind=version.activity_kind,
        occurred_at=occurred_at or datetime(2025, 3, 1, 2, tzinfo=UTC),
        quantities=quantities or dict(BusRide.example),
        baseline_g=grams,
        project_g=0,
        reduction_g=grams,
        status=status,
    )
    session.add(reduction)
    session.flush()
    return reduction


def make_merchant(session: Session, name: str = "凤凰停车场") -> Merchant:
    merchant = Merchant(name=name, kind=MerchantKind.PARKING, status=MerchantStatus.APPROVED)
    session.add(merchant)
    session.flush()
    return merchant


def wallet_balance(session: Session, holder_id: int) -> int | None:
    return session.scalar(sa.select(Account.balance).where(Account.holder_id == holder_id))


def entry_sum(session: Session, holder_id: int) -> int:
    return session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Entry.amount), 0))
        .join(Account, Account.id == Entry.account_id)
        .where(Account.holder_id == holder_id)
    )


def transaction_count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Transaction))
