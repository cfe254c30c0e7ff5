"""Membership by invitation: an organisation invites a number, only the resident holding it sees
and answers the invitation, inviting reveals nothing about who has signed up, and an
organisation's invitations a day are limited (exactly at the limit, and one past it)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from app.accounts import memberships
from app.accounts import services as accounts
from app.accounts.models import InvitationStatus, OrganisationInvitation
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import Actor
from app.errors import DomainError
from tests.factories import make_user, next_mobile

RULES = memberships.InvitationRules(daily_limit=3, tz=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def org(session):
    return accounts.organisation_of(session, make_user(session, Role.ORGANISATION))


def _actor(user) -> Actor:
    return Actor(user.id, user.role)


def _invite(session, org, mobile, rules=RULES):
    return memberships.invite(
        session, Actor(org.account_id, Role.ORGANISATION), org, rules, mobile=mobile
    )


def test_inviting_a_registered_number_and_an_unknown_one_look_the_same(session, org):
    resident = make_user(session)
    known, unknown = _invite(session, org, resident.mobile), _invite(session, org, next_mobile())
    assert known.status is unknown.status is InvitationStatus.PENDING
    assert memberships.members_of(session, org) == []  # nobody joins without answering
    summaries = session.scalars(
        sa.select(AuditEntry.summary).where(AuditEntry.action == "organisation.invited")
    ).all()
    assert all("****" in summary["mobile"] for summary in summaries)


def test_only_the_holder_of_the_number_sees_and_answers(session, org):
    resident, stranger = make_user(session), make_user(session)
    invitation = _invite(session, org, resident.mobile)
    assert memberships.invitations_for(session, stranger) == []
    with pytest.raises(DomainError) as refused:
        memberships.answer(session, _actor(stranger), stranger, invitation.id, accept=True)
    assert refused.value.status == 404
    assert [i.id for i, _org in memberships.invitations_for(session, resident)] == [invitation.id]
    memberships.answer(session, _actor(resident), resident, invitation.id, accept=True)
    assert memberships.members_of(session, org) == [resident]
    assert memberships.organisations_of_resident(session, resident) == [org]
    assert memberships.invitations_for(session, resident) == []
    memberships.leave(session, resident, org.id)
    assert memberships.members_of(session, org) == []


def test_a_declined_invitation_adds_nobody_and_cannot_be_answered_again(session, org):
    resident = make_user(session)
    invitation = _invite(session, org, resident.mobile)
    memberships.answer(session, _actor(resident), resident, invitation.id, accept=False)
    assert invitation.status is InvitationStatus.DECLINED and invitation.decided_at is not None
    assert memberships.members_of(session, org) == []
    with pytest.raises(DomainError):
        memberships.answer(session, _actor(resident), resident, invitation.id, accept=True)
    assert memberships.members_of(session, org) == []
    assert _invite(session, org, resident.mobile).id != invitation.id  # may be invited anew


def test_an_organisation_account_cannot_accept_an_invitation(session, org):
    other_account = make_user(session, Role.ORGANISATION)
    invitation = _invite(session, org, other_account.mobile)
    assert memberships.invitations_for(session, other_account) == []
    with pytest.raises(DomainError):
        memberships.answer(
            session, _actor(other_account), other_account, invitation.id, accept=True
        )


def test_inviting_the_same_number_again_returns_the_waiting_invitation(session, org):
    mobile = next_mobile()
    first = _invite(session, org, mobile)
    assert _invite(session, org, mobile).id == first.id
    assert memberships.sent_today(session, org.id, RULES) == 1


def test_the_daily_limit_holds_exactly_at_it_and_refuses_one_past(session, org):
    for _ in range(RULES.daily_limit):
        _invite(session, org, next_mobile())
    before = session.scalar(sa.select(sa.func.count()).select_from(OrganisationInvitation))
    with pytest.raises(DomainError) as refused:
        _invite(session, org, next_mobile())
    assert (refused.value.reason, refused.value.status) == ("too_many_invitations", 429)
    after = session.scalar(sa.select(sa.func.count()).select_from(OrganisationInvitation))
    assert after == before
    other = accounts.organisation_of(session, make_user(session, Role.ORGANISATION))
    assert _invite(session, other, next_mobile()).status is InvitationStatus.PENDING


def test_the_limit_counts_the_citys_day(session, org):
    # 15:59 UTC is 23:59 in Yinchuan; a minute later it is a new local day.
    with time_machine.travel(datetime(2026, 12, 7, 15, 59, tzinfo=UTC), tick=False):
        for _ in range(RULES.daily_limit):
            _invite(session, org, next_mobile())
        with pytest.raises(DomainError):
            _invite(session, org, next_mobile())
    with time_machine.travel(datetime(2026, 12, 7, 16, 0, tzinfo=UTC), tick=False):
        assert _invite(session, org, next_mobile()).status is InvitationStatus.PENDING


@pytest.mark.parametrize("mobile", ["", "123", "23800000000", "1380000000a"])
def test_a_malformed_number_is_refused_at_its_field(session, org, mobile):
    with pytest.raises(DomainError) as refused:
        _invite(session, org, mobile)
    assert refused.value.field == "mobile"
