"""Members of organisations, by invitation: an organisation invites a mobile number, and only the
resident who holds that number sees the invitation and accepts or declines it.

Inviting answers the same whether or not anyone has signed up with the number, so an
organisation cannot use it to learn who uses the platform or their names. An organisation may
send a limited number of invitations a day (counted in the database, so every worker and server
shares the count), and each step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import (
    InvitationStatus,
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    User,
)
from app.accounts.roles import Role
from app.accounts.services import mask_mobile, normalise_mobile
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import DomainError, NotFound


@dataclass(frozen=True, slots=True)
class InvitationRules:
    #: Invitations one organisation may send per local day.
    daily_limit: int
    tz: ZoneInfo


def _local_day_bounds(tz: ZoneInfo) -> tuple[datetime, datetime]:
    today: date = clock.local_date(clock.now(), tz)
    start = datetime.combine(today, time(), tz)
    return start, start + timedelta(days=1)


def sent_today(session: Session, organisation_id: int, rules: InvitationRules) -> int:
    start, end = _local_day_bounds(rules.tz)
    return int(
        session.scalar(
            sa.select(sa.func.count()).where(
                OrganisationInvitation.organisation_id == organisation_id,
                OrganisationInvitation.created_at >= start,
                OrganisationInvitation.created_at < end,
            )
        )
    )


def invite(
    session: Session,
    actor: Actor,
    organisation: Organisation,
    rules: InvitationRules,
    *,
    mobile: str,
) -> OrganisationInvitation:
    """Invite the holder of ``mobile``; the same answer whoever holds it (or nobody).

    The organisation's row is locked first, so invitations sent at once cannot pass the limit.
    Inviting a number already invited and not yet answered returns that invitation.
    """
    number = normalise_mobile(mobile)
    session.execute(
        sa.select(Organisation.id).where(Organisation.id == organisation.id).with_for_update()
    )
    pending = session.scalar(
        sa.select(OrganisationInvitation).where(
            OrganisationInvitation.organisation_id == organisation.id,
            OrganisationInvitation.mobile == number,
            OrganisationInvitation.status == InvitationStatus.PENDING,
        )
    )
    if pending is not None:
        return pending
    if sent_today(session, organisation.id, rules) >= rules.daily_limit:
        raise DomainError(
            "too_many_invitations",
            _l("Your organisation has sent %(limit)s invitations today; try again tomorrow.",
               limit=rules.daily_limit),
            field="mobile",
            status=429,
        )  # fmt: skip
    invitation = OrganisationInvitation(
        organisation_id=organisation.id, mobile=number, invited_by_id=actor.user_id
    )
    session.add(invitation)
    session.flush()
    audit.record(
        session, actor, "organisation.invited", "organisation_invitation", invitation.id,
        {"organisation_id": organisation.id, "mobile": mask_mobile(number)},
    )  # fmt: skip
    return invitation


def invitations_sent(session: Session, organisation: Organisation) -> list[OrganisationInvitation]:
    """The organisation's invitations nobody has answered yet, newest first."""
    return list(
        session.scalars(
            sa.select(OrganisationInvitation)
            .where(
                OrganisationInvitation.organisation_id == organisation.id,
                OrganisationInvitation.status == InvitationStatus.PENDING,
            )
            .order_by(OrganisationInvitation.id.desc())
        )
    )


def invitations_for(
    session: Session, resident: User
) -> list[tuple[OrganisationInvitation, Organisation]]:
    """Invitations waiting for the resident's answer, with the organisation that sent each."""
    if resident.role is not Role.RESIDENT:
        return []
    return [
        (invitation, organisation)
        for invitation, organisation in session.execute(
            sa.select(OrganisationInvitation, Organisation)
            .join(Organisation, Organisation.id == OrganisationInvitation.organisation_id)
            .where(
                OrganisationInvitation.mobile == resident.mobile,
                OrganisationInvitation.status == InvitationStatus.PENDING,
            )
            .order_by(OrganisationInvitation.id)
        )
    ]


def answer(
    session: Session, actor: Actor, resident: User, invitation_id: int, *, accept: bool
) -> OrganisationInvitation:
    """The resident accepts (and becomes a member) or declines; only their own invitations."""
    invitation = session.scalar(
        sa.select(OrganisationInvitation)
        .where(
            OrganisationInvitation.id == invitation_id,
            OrganisationInvitation.mobile == resident.mobile,
            OrganisationInvitation.status == InvitationStatus.PENDING,
        )
        .with_for_update()
    )
    if invitation is None or resident.role is not Role.RESIDENT:
        raise NotFound("invitation")
    invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    invitation.decided_at = clock.now()
    key = (invitation.organisation_id, resident.id)
    if accept and session.get(OrganisationMember, key) is None:
        session.add(OrganisationMember(organisation_id=key[0], resident_id=key[1]))
    session.flush()
    audit.record(
        session, actor,
        "organisation.invitation_accepted" if accept else "organisation.invitation_declined",
        "organisation_invitation", invitation.id,
        {"organisation_id": invitation.organisation_id},
    )  # fmt: skip
    return invitation


def remove_member(session: Session, organisation: Organisation, resident_id: int) -> None:
    member = session.get(OrganisationMember, (organisation.id, resident_id))
    if member is None:
        raise NotFound("member")
    session.delete(member)
    session.flush()


def leave(session: Session, resident: User, organisation_id: int) -> None:
    """A resident leaves an organisation they belong to."""
    member = session.get(OrganisationMember, (organisation_id, resident.id))
    if member is None:
        raise NotFound("member")
    session.delete(member)
    session.flush()


def members_of(session: Session, organisation: Organisation) -> list[User]:
    return list(
        session.scalars(
            sa.select(User)
            .join(OrganisationMember, OrganisationMember.resident_id == User.id)
            .where(OrganisationMember.organisation_id == organisation.id)
            .order_by(User.display_name)
        )
    )


def organisations_of_resident(session: Session, resident: User) -> list[Organisation]:
    return list(
        session.scalars(
            sa.select(Organisation)
            .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
            .where(OrganisationMember.resident_id == resident.id)
            .order_by(Organisation.name)
        )
    )


def forget_member(session: Session, resident: User) -> None:
    """Take a closing resident out of every organisation and drop invitations to their number."""
    session.execute(
        sa.delete(OrganisationMember).where(OrganisationMember.resident_id == resident.id)
    )
    session.execute(
        sa.delete(OrganisationInvitation).where(OrganisationInvitation.mobile == resident.mobile)
    )


def forget_organisation(session: Session, account: User) -> None:
    """A closing organisation's members leave it and its invitations go (they name people's
    numbers); the organisation's own row stays, with what it retired and donated."""
    organisation_ids = sa.select(Organisation.id).where(Organisation.account_id == account.id)
    session.execute(
        sa.delete(OrganisationMember).where(
            OrganisationMember.organisation_id.in_(organisation_ids)
        )
    )
    session.execute(
        sa.delete(OrganisationInvitation).where(
            OrganisationInvitation.organisation_id.in_(organisation_ids)
        )
    )
