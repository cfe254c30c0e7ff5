"""Retirements are governed: only verified organisations ask, within a yearly cap, naming a
beneficiary and a purpose, and only the bureau's approval retires units and makes a certificate;
never more than are active."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from app.accounts import services as accounts
from app.accounts.models import Verification
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import Actor
from app.errors import DomainError
from app.filings import bundling, claims, units
from app.filings.models import (
    ClaimStatus,
    OffsetClaim,
    RetirementPurpose,
    UnitRange,
    UnitState,
)
from tests.factories import make_user
from tests.filings.support import (
    SETTINGS,
    SHANGHAI,
    accept_month,
    count,
    make_reduction,
    make_version,
    raw_reduction,
    shanghai,
    verified_organisation,
)

RULES = claims.ClaimRules(yearly_cap_g=100_000_000, tz=SHANGHAI)
T = units.GRAMS_PER_UNIT


def _actor(user) -> Actor:
    return Actor(user.id, user.role)


@pytest.fixture
def admin(session):
    return _actor(make_user(session, Role.BUREAU_ADMIN))


@pytest.fixture
def accepted(session):
    """An accepted batch of 7.5 t CO2e: units 1-7, and 500,000 g that are no unit."""
    version = make_version(session)
    resident = make_user(session)
    for day in (1, 2, 3):
        raw_reduction(session, version, resident, shanghai(2026, 6, day, 10), 2_500_000)
    return accept_month(session, version, shanghai(2026, 6, 1))


def _request(session, org, grams, rules=RULES, name="银川马拉松", **more):
    more = {"beneficiary": "银川市马拉松组委会"} | more
    return claims.request_claim(
        session, Actor(org.account_id, Role.ORGANISATION), rules, organisation_id=org.id,
        event_name=name, event_date=date(2026, 9, 20), grams=grams, **more,
    )  # fmt: skip


def _retired(session):
    return [
        (row.first_unit, row.last_unit, row.claim_id)
        for row in session.scalars(
            sa.select(UnitRange)
            .where(UnitRange.state == UnitState.RETIRED)
            .order_by(UnitRange.first_unit)
        )
    ]


def test_an_organisation_that_just_signed_up_cannot_claim_any_tonne(session, accepted):
    org = accounts.organisation_of(session, make_user(session, Role.ORGANISATION))
    assert org.verification is Verification.UNVERIFIED
    with pytest.raises(DomainError) as refused:
        _request(session, org, 7 * T)
    assert (refused.value.reason, refused.value.status) == ("organisation_not_verified", 403)
    assert count(session, OffsetClaim) == 0 and _retired(session) == []
    assert units.active_units(session) == 7


def test_an_organisation_waiting_for_verification_cannot_claim(session, accepted):
    account = make_user(session, Role.ORGANISATION)
    org = accounts.organisation_of(session, account)
    from app.accounts import verification

    verification.request_verification(
        session, _actor(account), org, credit_code="91350100M000100Y43"
    )
    assert org.verification is Verification.PENDING
    with pytest.raises(DomainError) as refused:
        _request(session, org, T)
    assert refused.value.reason == "organisation_not_verified"
    assert count(session, OffsetClaim) == 0


def test_a_request_retires_nothing_until_the_bureau_approves(session, accepted, admin):
    org = verified_organisation(session)
    claim = _request(
        session, org, 6 * T, beneficiary="宁夏某公司", purpose=RetirementPurpose.COMPLIANCE_OFFSET
    )
    assert (claim.status, claim.serial) == (ClaimStatus.REQUESTED, None)
    assert _retired(session) == []
    assert units.active_units(session) == 7
    with pytest.raises(DomainError):
        claims.claim_by_serial(session, "CN-2026-000001")

    approved = claims.approve_claim(session, admin, claim.id)
    assert (approved.status, approved.serial) == (ClaimStatus.APPROVED, "CN-2026-000001")
    assert approved.decided_by_id == admin.user_id
    assert claims.claim_by_serial(session, "CN-2026-000001") is approved
    assert (approved.beneficiary, approved.purpose) == ("宁夏某公司", "compliance_offset")
    assert _retired(session) == [(1, 6, claim.id)]
    assert units.active_units(session) == 1
    ((_row, serial, batch),) = claims.ranges_of(session, claim.id)
    assert serial == f"YC-BUS-202606-B{accepted.id:06d}-0000001-0000006"
    assert batch.root_hash == accepted.root_hash
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_type == "offset_claim")
    ).all()
    assert actions == ["offset.requested", "offset.approved"]


def test_approvals_never_retire_more_than_remain(session, accepted, admin):
    first = _request(session, verified_organisation(session, "甲"), 5 * T)
    second = _request(session, verified_organisation(session, "乙"), 3 * T)
    claims.approve_claim(session, admin, first.id)
    with pytest.raises(DomainError) as refused:
        claims.approve_claim(session, admin, second.id)
    assert (refused.value.reason, refused.value.status) == ("exceeds_remaining", 409)
    assert second.status is ClaimStatus.REQUESTED and second.serial is None
    exact = _request(session, verified_organisation(session, "丙"), 2 * T)
    claims.approve_claim(session, admin, exact.id)
    assert units.active_units(session) == 0
    assert _retired(session) == [(1, 5, first.id), (6, 7, exact.id)]


def test_a_request_above_what_remains_is_refused_at_once(session, accepted):
    org = verified_organisation(session)
    with pytest.raises(DomainError) as refused:
        _request(session, org, 8 * T)  # 7.5 t in the batch, but only 7 whole units
    assert refused.value.reason == "exceeds_remaining"
    assert _request(session, org, 7 * T).claimed_g == 7 * T


def test_only_accepted_batches_can_be_claimed(session):
    version = make_version(session)
    make_reduction(session, version, make_user(session), shanghai(2026, 6, 1, 10))
    bundling.bundle_month(session, SETTINGS, version.id, date(2026, 6, 1))
    with pytest.raises(DomainError) as refused:
        _request(session, verified_organisation(session), T)
    assert refused.value.reason == "exceeds_remaining"


def test_the_yearly_cap_holds_exactly_at_it_and_refuses_one_gram_past(session, accepted, admin):
    org = verified_organisation(session)
    rules = claims.ClaimRules(yearly_cap_g=5 * T, tz=SHANGHAI)
    _request(session, org, 3 * T, rules)
    with pytest.raises(DomainError) as refused:
        _request(session, org, 3 * T, rules)
    assert (refused.value.reason, refused.value.status) == ("exceeds_claim_cap", 409)
    at_cap = _request(session, org, 2 * T, rules)
    claims.reject_claim(session, admin, at_cap.id, reason="duplicate request")
    assert claims.requested_this_year(session, org.id, rules) == 3 * T  # a rejection frees room
    _request(session, org, 2 * T, rules)
    other = verified_organisation(session, "另一家")
    assert _request(session, other, 5 * T, rules).claimed_g == 5 * T  # per organisation


def test_the_cap_counts_the_citys_calendar_year(session, accepted):
    org = verified_organisation(session)
    rules = claims.ClaimRules(yearly_cap_g=3 * T, tz=SHANGHAI)
    # 15:59 UTC on 31 December is 23:59 in Yinchuan: still last year's room.
    with time_machine.travel(datetime(2026, 12, 31, 15, 59, tzinfo=UTC), tick=False):
        _request(session, org, 3 * T, rules)
        with pytest.raises(DomainError):
            _request(session, org, T, rules)
    with time_machine.travel(datetime(2026, 12, 31, 16, 0, tzinfo=UTC), tick=False):
        assert claims.requested_this_year(session, org.id, rules) == 0
        _request(session, org, 3 * T, rules)


def test_a_rejection_says_why_and_retires_nothing(session, accepted, admin):
    claim = _request(session, verified_organisation(session), T)
    for reason in ("", "   ", "x" * 257):
        with pytest.raises(DomainError) as refused:
            claims.reject_claim(session, admin, claim.id, reason=reason)
        assert refused.value.field == "reason"
    claims.reject_claim(session, admin, claim.id, reason="x" * 256)
    assert claim.status is ClaimStatus.REJECTED and claim.serial is None
    assert _retired(session) == [] and units.active_units(session) == 7
    for decide in (
        lambda: claims.approve_claim(session, admin, claim.id),
        lambda: claims.reject_claim(session, admin, claim.id, reason="again"),
    ):
        with pytest.raises(DomainError) as refused:
            decide()
        assert refused.value.reason == "already_decided"


def test_a_certificate_exists_only_for_an_approved_claim(session, accepted):
    claim = _request(session, verified_organisation(session), T)
    claim.serial = "CN-2026-000009"  # the database itself refuses a serial on a request
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()


@pytest.mark.parametrize("name", ["", "   ", "x" * 129])
def test_an_event_needs_a_name_of_at_most_128_characters(session, accepted, name):
    with pytest.raises(DomainError) as refused:
        _request(session, verified_organisation(session), T, name=name)
    assert refused.value.field == "event_name"
    assert _request(session, verified_organisation(session), T, name="x" * 128).claimed_g == T


@pytest.mark.parametrize("beneficiary", ["", "   ", "x" * 129])
def test_a_retirement_names_a_beneficiary_of_at_most_128_characters(session, accepted, beneficiary):
    with pytest.raises(DomainError) as refused:
        _request(session, verified_organisation(session), T, beneficiary=beneficiary)
    assert refused.value.field == "beneficiary"
    assert count(session, OffsetClaim) == 0
    claim = _request(session, verified_organisation(session), T, beneficiary="x" * 128)
    assert claim.beneficiary == "x" * 128


def test_a_fraction_of_a_unit_is_refused(session, accepted):
    with pytest.raises(DomainError) as refused:
        _request(session, verified_organisation(session), T + 1)
    assert (refused.value.reason, refused.value.field) == ("invalid_tonnes", "tonnes")
    assert count(session, OffsetClaim) == 0


@pytest.mark.parametrize(("text", "grams"), [("1", 1_000_000), ("2", 2_000_000), (" 30 ", 30 * T)])
def test_tonnes_are_parsed_to_whole_units(text, grams):
    assert claims.parse_tonnes(text) == grams


@pytest.mark.parametrize("text", ["0", "-1", "0.5", "1.000001", "abc", "", "NaN", "Infinity"])
def test_bad_tonnes_are_refused(text):
    with pytest.raises(DomainError):
        claims.parse_tonnes(text)


def test_a_decided_claim_never_changes(session, accepted, admin):
    from app.filings.services import FiledBatchIsImmutable

    claim = claims.approve_claim(
        session, admin, _request(session, verified_organisation(session), 5 * T).id
    )
    claim.claimed_g = T
    with pytest.raises(FiledBatchIsImmutable):
        session.flush()
    session.rollback()


def test_retired_units_never_change_again(session, accepted, admin):
    from app.filings.services import FiledBatchIsImmutable

    claim = claims.approve_claim(
        session, admin, _request(session, verified_organisation(session), 2 * T).id
    )
    retired = session.scalar(sa.select(UnitRange).where(UnitRange.claim_id == claim.id))
    retired.state, retired.claim_id = UnitState.ACTIVE, None
    with pytest.raises(FiledBatchIsImmutable):
        session.flush()
