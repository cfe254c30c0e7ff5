"""Test data for filings: approved methodology versions and verified reductions, computed by the
real methodology plugins so packages recompute."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts import consents, verification
from app.accounts import services as accounts
from app.accounts.credit_code import check_character
from app.accounts.models import Organisation, OrganisationKind, User
from app.accounts.roles import Role
from app.audit.services import Actor
from app.config import NOTICE_VERSION
from app.filings import bundling, services
from app.filings.models import FilingBatch
from app.methodology import services as methodology
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction, ReductionStatus
from methodologies.registry import load_methodologies
from tests.factories import PASSWORD, make_user, next_mobile

SHANGHAI = ZoneInfo("Asia/Shanghai")
SETTINGS = bundling.BundleSettings(tz=SHANGHAI, city="银川", pseudonym_key=b"test filing key")
_codes = itertools.count(1_000_000)


def credit_code() -> str:
    """A fresh unified social credit code with a correct check character."""
    first = f"91640100MA{next(_codes):07d}"
    return first + check_character(first)


def verified_organisation(session: Session, name: str = "银川绿色马拉松组委会") -> Organisation:
    """An organisation that signed up with its credit code and was verified by a bureau admin."""
    account = accounts.register_organisation(
        session, mobile=next_mobile(), password=PASSWORD, name=name,
        kind=OrganisationKind.ENTERPRISE, credit_code=credit_code(),
    )  # fmt: skip
    consents.record_notice(session, account.id, version=NOTICE_VERSION, channel="web")
    org = accounts.organisation_of(session, account)
    admin = make_user(session, Role.BUREAU_ADMIN)
    return verification.decide(session, Actor(admin.id, admin.role), org.id, verified=True)


def make_version(session: Session, code: str = "bus") -> MethodologyVersion:
    """An approved version of ``code`` with its default parameters, made by the bureau's rules."""
    plugin = load_methodologies([code])[code]
    submitter, approver = (make_user(session, Role.BUREAU_ADMIN) for _ in range(2))
    (version,) = methodology.register_and_approve(
        session,
        {code: plugin},
        submitter=Actor(submitter.id, submitter.role),
        approver=Actor(approver.id, approver.role),
        effective_from=datetime(2020, 1, 1, tzinfo=UTC),
        comment="test",
    )
    return version


def make_reduction(
    session: Session,
    version: MethodologyVersion,
    participant: User,
    occurred_at: datetime,
    *,
    km: str = "8.2",
    self_reported: bool = False,
    status: ReductionStatus = ReductionStatus.VERIFIED,
) -> Reduction:
    plugin = load_methodologies([version.code])[version.code]
    raw = {"distance_km": km, "duration_minutes": "25"}
    activity = plugin.build_activity(raw, occurred_at, self_reported=self_reported)
    result = plugin.quantify(activity, plugin.load_parameters(version.parameters))
    reduction = Reduction(
        participant_id=participant.id,
        methodology_version_id=version.id,
        activity_kind=plugin.activity_kind,
        occurred_at=occurred_at,
        self_reported=self_reported,
        quantities=raw,
        baseline_g=result.baseline_g,
        project_g=result.project_g,
        reduction_g=result.reduction_g,
        capped=result.capped,
        status=status,
        verified_at=occurred_at if status == ReductionStatus.VERIFIED else None,
    )
    session.add(reduction)
    session.flush()
    return reduction


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def count(session: Session, model: type, *where: object) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def tonnes_text(grams: int) -> str:
    return str(Decimal(grams) / Decimal(1_000_000))


def raw_reduction(
    session: Session, version: MethodologyVersion, participant: User, occurred_at: datetime,
    grams: int,
) -> Reduction:  # fmt: skip
    """A verified reduction of exactly ``grams`` (not recomputable: for registry arithmetic)."""
    reduction = Reduction(
        participant_id=participant.id, methodology_version_id=version.id,
        activity_kind=version.activity_kind, occurred_at=occurred_at, self_reported=False,
        quantities={"distance_km": "8.2", "duration_minutes": "25"}, baseline_g=grams,
        project_g=0, reduction_g=grams, capped=False, status=ReductionStatus.VERIFIED,
        verified_at=occurred_at, findings=[],
    )  # fmt: skip
    session.add(reduction)
    session.flush()
    return reduction


def accept_month(session: Session, version: MethodologyVersion, month: datetime) -> FilingBatch:
    """Bundle the version's month, approve it twice, submit and accept it: its units exist."""
    batch = bundling.bundle_month(session, SETTINGS, version.id, month.date().replace(day=1))
    staff = [make_user(session, Role.BUREAU_REVIEWER) for _ in range(3)]
    actors = [Actor(user.id, user.role) for user in staff]
    services.approve(session, actors[0], batch.id)
    services.approve(session, actors[1], batch.id)
    services.submit(session, actors[2], batch.id, registry_reference=f"CCER-YC-{batch.id}")
    return services.accept(session, actors[0], batch.id, city_code="YC")
