"""Closing an organisation's account: the contact's personal information is erased, its members
leave and its invitations go, while what the organisation retired stays under the pseudonym."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.accounts import services
from app.accounts.models import (
    InvitationStatus,
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    User,
)
from app.accounts.roles import Role
from app.filings.models import OffsetClaim
from app.rights.models import AccountClosure, ClosureStatus
from tests.factories import credentials, make_user, next_mobile
from tests.rights.support import COOLING_OFF, dump_database, run_erasure


def _count(session, model, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_an_organisations_account_closes_and_keeps_its_retirements(city, client, session, frozen):
    account = make_user(session, Role.ORGANISATION, display_name="塞上骑行社")
    contact = account.mobile
    organisation = services.organisation_of(session, account)
    member = make_user(session)
    invited = next_mobile()
    session.add(OrganisationMember(organisation_id=organisation.id, resident_id=member.id))
    session.add(
        OrganisationInvitation(
            organisation_id=organisation.id, mobile=invited, status=InvitationStatus.PENDING,
            invited_by_id=account.id,
        )
    )  # fmt: skip
    claim = OffsetClaim(
        organisation_id=organisation.id, event_name="塞上骑行节", event_date=date(2026, 11, 1),
        claimed_g=2_000_000, claimed_by_id=account.id, beneficiary="塞上骑行社",
    )  # fmt: skip
    session.add(claim)
    session.commit()
    token = client.post("/api/v1/auth/tokens", json=credentials(account)).get_json()["token"]
    asked = client.post("/api/v1/me/closure", headers={"Authorization": f"Bearer {token}"})
    assert asked.status_code == 202, asked.get_json()
    assert run_erasure(city, session) == 0  # cooling off: nothing yet
    assert _count(session, OrganisationMember, OrganisationMember.resident_id == member.id) == 1

    frozen.shift(COOLING_OFF)
    assert run_erasure(city, session) == 1
    session.expire_all()
    erased = session.get(User, account.id)
    assert erased.mobile != contact and erased.display_name == f"#{account.id}"
    assert not erased.is_active and erased.erased_at is not None
    assert (
        _count(session, OrganisationMember, OrganisationMember.organisation_id == organisation.id)
        == 0
    )
    assert _count(session, OrganisationInvitation, OrganisationInvitation.mobile == invited) == 0
    # The member keeps their own account; the organisation's record and retirement stay.
    assert session.get(User, member.id).is_active
    assert session.get(Organisation, organisation.id).account_id == account.id
    kept = session.get(OffsetClaim, claim.id)
    assert (kept.organisation_id, kept.claimed_by_id, kept.claimed_g) == (
        organisation.id, account.id, 2_000_000
    )  # fmt: skip
    status = session.scalar(
        sa.select(AccountClosure.status).where(AccountClosure.user_id == account.id)
    )
    assert status == ClosureStatus.ERASED
    dump = dump_database(session)
    assert contact not in dump and invited not in dump
    # The contact's number is free: it signs up again as a new organisation.
    again = make_user(session, Role.ORGANISATION, mobile=contact, display_name="新骑行社")
    assert again.id != account.id
