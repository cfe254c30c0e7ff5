"""The filing workflow: two different bureau colleagues approve, a submitted batch never changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.accounts.approvals import Independence, RefusedDecision
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import Actor
from app.errors import DomainError
from app.filings import bundling, services
from app.filings.models import BatchStatus, FilingLine
from app.filings.services import FiledBatchIsImmutable
from tests.factories import make_user
from tests.filings.support import SETTINGS, make_reduction, make_version, shanghai


def _actor(user) -> Actor:
    return Actor(user.id, user.role)


@pytest.fixture
def staff(session):
    return [_actor(make_user(session, Role.BUREAU_REVIEWER)) for _ in range(3)]


@pytest.fixture
def draft(session):
    version = make_version(session)
    resident = make_user(session)
    for day in (1, 2, 3):
        make_reduction(session, version, resident, shanghai(2026, 6, day, 10), km="20")
    return bundling.bundle_month(session, SETTINGS, version.id, date(2026, 6, 1))


def _accepted(session, batch, staff):
    services.approve(session, staff[0], batch.id)
    services.approve(session, staff[1], batch.id)
    services.submit(session, staff[2], batch.id, registry_reference="CCER-YC-2026-0042")
    return services.accept(session, staff[0], batch.id, city_code="YC")


def test_two_different_colleagues_approve(session, draft, staff):
    services.approve(session, staff[0], draft.id)
    assert draft.status is BatchStatus.DRAFT
    with pytest.raises(DomainError) as refused:
        services.approve(session, staff[0], draft.id)
    assert refused.value.reason == "already_approved" and refused.value.status == 403
    services.approve(session, staff[1], draft.id)
    assert draft.status is BatchStatus.APPROVED
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_id == str(draft.id))
    ).all()
    assert actions.count("filing.approve") == 2


def test_an_approver_must_be_independent_of_the_bundler_and_the_first_approver(session, draft):
    independence = Independence(days=90)
    first = make_user(session, Role.BUREAU_ADMIN)
    made_by_first = make_user(session, Role.BUREAU_REVIEWER)
    made_by_first.created_by_id = first.id  # the first approver made this colleague's account
    services.approve(session, _actor(first), draft.id, independence=independence)
    with pytest.raises(RefusedDecision) as refused:
        services.approve(session, _actor(made_by_first), draft.id, independence=independence)
    assert (refused.value.reason, refused.value.status) == ("not_independent", 403)
    assert refused.value.keep_writes  # the refused attempt stays in the audit log
    assert draft.status is BatchStatus.DRAFT and draft.second_approved_by_id is None
    refusal = session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "filing.decision_refused")
    )
    assert refusal.summary["reason"] == "not_independent"
    # Past the independence period, the same colleague may give the second approval.
    made_by_first.created_at -= timedelta(days=91)
    services.approve(session, _actor(made_by_first), draft.id, independence=independence)
    assert draft.status is BatchStatus.APPROVED


def test_whoever_bundled_a_batch_may_not_approve_it(session, staff):
    version = make_version(session)
    make_reduction(session, version, make_user(session), shanghai(2026, 5, 5))
    batch = bundling.bundle_month(session, SETTINGS, version.id, date(2026, 5, 1), actor=staff[0])
    with pytest.raises(DomainError) as refused:
        services.approve(session, staff[0], batch.id)
    assert refused.value.reason == "own_batch"


def test_a_batch_is_submitted_only_after_both_approvals(session, draft, staff):
    services.approve(session, staff[0], draft.id)
    with pytest.raises(DomainError) as refused:
        services.submit(session, staff[1], draft.id, registry_reference="R-1")
    assert refused.value.reason == "batch_status"


def test_a_submitted_batch_never_changes(session, draft, staff):
    services.approve(session, staff[0], draft.id)
    services.approve(session, staff[1], draft.id)
    services.submit(session, staff[2], draft.id, registry_reference="R-7")
    with pytest.raises(DomainError):
        services.submit(session, staff[2], draft.id, registry_reference="R-8")
    with pytest.raises(DomainError):
        services.approve(session, staff[2], draft.id)
    draft.total_g += 1
    with pytest.raises(FiledBatchIsImmutable):
        session.flush()
    session.rollback()


def test_even_a_draft_keeps_its_contents(session, draft):
    draft.manifest = draft.manifest.replace("银川", "别处")
    with pytest.raises(FiledBatchIsImmutable):
        session.flush()
    session.rollback()


def test_lines_are_never_edited_or_deleted(session, draft):
    line = session.scalars(sa.select(FilingLine).where(FilingLine.batch_id == draft.id)).first()
    line.reduction_g = 0
    with pytest.raises(FiledBatchIsImmutable):
        session.flush()
    session.rollback()


def test_an_accepted_batch_is_final(session, draft, staff):
    _accepted(session, draft, staff)
    with pytest.raises(DomainError):
        services.reject(session, staff[1], draft.id, reason="too late")
    draft.status = BatchStatus.REJECTED
    with pytest.raises(FiledBatchIsImmutable):
        session.flush()
    session.rollback()


def test_the_registry_may_reject_a_submitted_batch(session, draft, staff):
    services.approve(session, staff[0], draft.id)
    services.approve(session, staff[1], draft.id)
    services.submit(session, staff[2], draft.id, registry_reference="R-9")
    services.reject(session, staff[0], draft.id, reason="registry: evidence incomplete")
    assert draft.status is BatchStatus.REJECTED
    assert not session.scalar(
        sa.select(sa.func.count()).where(
            FilingLine.batch_id == draft.id, FilingLine.active.is_(True)
        )
    )
