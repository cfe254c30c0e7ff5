"""No one-person power: what one bureau admin may only ask for, and a second admin decides.

Creating a bureau admin, changing a staff account's role and a wallet adjustment above the
configured threshold are requests (:class:`ApprovalRequest`). Another bureau admin approves or
refuses each; never the one who asked, and never an admin who created the asker's account, or
whose account the asker created, within ``APPROVAL_INDEPENDENCE_DAYS``. A refused attempt to
decide is audited and kept; a decision is audited with both names. The accounts' own actions run
here when approved; the wallet adjustment runs in the ledger, called by the edge that decided
(``app.bureau.approvals``), since the ledger sits above this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import ApprovalAction, ApprovalRequest, ApprovalStatus, User
from app.accounts.roles import STAFF_ROLES, Role
from app.accounts.services import _new_user_checks, hash_password, mask_mobile
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound


class RefusedDecision(DomainError):
    """An admin may not decide this request; the attempt itself is audited and kept."""

    status = 403
    keep_writes = True


@dataclass(frozen=True, slots=True)
class Independence:
    """How long an admin and the accounts they created (or that created them) count as one."""

    days: int


def _admin(session: Session, actor: Actor) -> User:
    if actor.user_id is None:
        raise DomainError(
            "person_required", _l("A named bureau admin must take this step."), status=403
        )
    return session.get_one(User, actor.user_id)


def _open(
    session: Session, actor: Actor, action: ApprovalAction, payload: dict[str, Any],
    summary: dict[str, Any],
) -> ApprovalRequest:  # fmt: skip
    requester = _admin(session, actor)
    request = ApprovalRequest(
        action=action, payload=payload, summary=summary, requested_by_id=requester.id
    )
    session.add(request)
    session.flush()
    details = {"action": action.value, **summary, "requested_by": requester.display_name}
    audit.record(session, actor, "approval.request", "approval_request", request.id, details)
    return request


def request_admin(
    session: Session, actor: Actor, *, mobile: str, password: str, display_name: str
) -> ApprovalRequest:
    """Ask for a new bureau admin account; it exists once a second admin approves."""
    mobile, display_name = _new_user_checks(session, mobile, password, display_name)
    return _open(
        session, actor, ApprovalAction.CREATE_ADMIN,
        {"mobile": mobile, "display_name": display_name, "password_hash": hash_password(password)},
        {"mobile": mask_mobile(mobile), "display_name": display_name,
         "role": Role.BUREAU_ADMIN.value},
    )  # fmt: skip


def request_role_change(
    session: Session, actor: Actor, user_id: int, role: Role
) -> ApprovalRequest:
    """Ask to give a staff account another staff role."""
    user = session.get(User, user_id)
    if user is None or user.role not in STAFF_ROLES:
        raise NotFound("user")
    if role not in STAFF_ROLES:
        raise DomainError("invalid_role", _l("Choose a staff role."), field="role")
    if role == user.role:
        raise Conflict("same_role", _l("The account already has this role."), field="role")
    return _open(
        session, actor, ApprovalAction.CHANGE_ROLE, {"user_id": user.id, "role": role.value},
        {"user_id": user.id, "display_name": user.display_name, "from_role": user.role.value,
         "role": role.value},
    )  # fmt: skip


def request_adjustment(
    session: Session, actor: Actor, *, holder_id: int, points: int, reason: str,
    idempotency_key: str,
) -> ApprovalRequest:  # fmt: skip
    """Ask for a wallet adjustment above the threshold (checked again when it is posted)."""
    return _open(
        session, actor, ApprovalAction.ADJUST_WALLET,
        {"holder_id": holder_id, "points": points, "reason": reason,
         "idempotency_key": idempotency_key},
        {"holder_id": holder_id, "points": points, "reason": reason},
    )  # fmt: skip


def pending(session: Session) -> list[ApprovalRequest]:
    return list(
        session.scalars(
            sa.select(ApprovalRequest)
            .where(ApprovalRequest.status == ApprovalStatus.PENDING)
            .order_by(ApprovalRequest.id)
        )
    )


def decide(
    session: Session, actor: Actor, request_id: int, *, approve: bool, independence: Independence
) -> ApprovalRequest:
    """Approve or refuse a pending request as a second admin; runs the accounts' own actions.

    The caller runs a wallet adjustment it approved and records its result.
    """
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        raise NotFound("approval_request")
    decider = _admin(session, actor)
    if request.status != ApprovalStatus.PENDING:
        raise Conflict(
            "already_decided", _l("This request has already been decided."), field="status"
        )
    requester = session.get_one(User, request.requested_by_id)
    _require_independent(session, actor, request, decider, independence)
    request.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REFUSED
    request.decided_by_id = decider.id
    request.decided_at = clock.now()
    if approve and request.action == ApprovalAction.CREATE_ADMIN:
        request.result = str(_create_admin(session, actor, request, requester).id)
    elif approve and request.action == ApprovalAction.CHANGE_ROLE:
        request.result = str(_change_role(session, actor, request))
    audit.record(
        session, actor, "approval.approve" if approve else "approval.refuse", "approval_request",
        request.id,
        {"action": request.action.value, **request.summary, "result": request.result,
         "requested_by": requester.display_name, "decided_by": decider.display_name},
    )  # fmt: skip
    session.flush()
    return request


def record_result(request: ApprovalRequest, result: object) -> None:
    request.result = str(result)


def related_recently(decider: User, requester: User, independence: Independence) -> bool:
    """Whether one of the two accounts created the other within the independence period: such
    an admin never decides the other's request (any four-eyes step may ask this)."""
    since = clock.now() - timedelta(days=independence.days)
    return any(
        made.created_by_id == maker.id and made.created_at > since
        for made, maker in ((requester, decider), (decider, requester))
    )


def decision_refusal(
    session: Session, user_id: int | None, request: ApprovalRequest, independence: Independence
) -> tuple[str, Any] | None:
    """Why this admin may not decide the request (reason code and message), or None when they
    may: the decision refuses with it, and the approvals page shows no buttons for it."""
    if user_id is None:
        return None
    if user_id == request.requested_by_id:
        return "own_request", _l("You asked for this: another bureau admin must decide it.")
    decider = session.get_one(User, user_id)
    if related_recently(decider, session.get_one(User, request.requested_by_id), independence):
        return "not_independent", _l(
            "You created the account that asked for this, or it created yours, too recently: "
            "another bureau admin must decide it."
        )
    return None


def _require_independent(
    session: Session, actor: Actor, request: ApprovalRequest, decider: User,
    independence: Independence,
) -> None:  # fmt: skip
    refusal = decision_refusal(session, decider.id, request, independence)
    if refusal is None:
        return
    reason, message = refusal
    audit.record(session, actor, "approval.decision_refused", "approval_request", request.id,
                 {"action": request.action.value, "reason": reason})  # fmt: skip
    raise RefusedDecision(reason, message)


def _create_admin(
    session: Session, actor: Actor, request: ApprovalRequest, requester: User
) -> User:
    payload = request.payload
    mobile, display_name = payload["mobile"], payload["display_name"]
    if session.scalar(sa.select(User.id).where(User.mobile == mobile)) is not None:
        raise Conflict(
            "duplicate_mobile", _l("An account with this mobile number already exists."),
            field="mobile",
        )  # fmt: skip
    user = User(
        role=Role.BUREAU_ADMIN, mobile=mobile, display_name=display_name,
        password_hash=payload["password_hash"], created_by_id=requester.id,
        must_change_password=True,
    )  # fmt: skip
    session.add(user)
    session.flush()
    audit.record(session, actor, "staff.create", "user", user.id,
                 {"role": Role.BUREAU_ADMIN.value, "display_name": display_name,
                  "mobile": mask_mobile(mobile), "approval_request": request.id})  # fmt: skip
    return user


def _change_role(session: Session, actor: Actor, request: ApprovalRequest) -> int:
    user = session.get(User, request.payload["user_id"])
    if user is None or user.role not in STAFF_ROLES:
        raise NotFound("user")
    before, user.role = user.role, Role(request.payload["role"])
    user.session_version += 1  # sessions made under the old role end
    audit.record(session, actor, "staff.role_change", "user", user.id,
                 {"from_role": before.value, "role": user.role.value,
                  "approval_request": request.id})  # fmt: skip
    return user.id
