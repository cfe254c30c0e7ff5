"""Deciding what one bureau admin asked for: the second admin's pages and API.

The rules (who may decide, the accounts' own actions, the audit with both names) are in
:mod:`app.accounts.approvals`; a wallet adjustment, once approved, is posted here through the
ledger, which the accounts module sits below.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint as ApiBlueprint
from sqlalchemy.orm import Session

from app.accounts import approvals, forms, schemas
from app.accounts.auth import current_actor, requires
from app.accounts.models import ApprovalAction, ApprovalRequest, User
from app.accounts.roles import Permission
from app.audit.services import Actor
from app.context import approval_independence, ledger_policy
from app.db import db
from app.error_handlers import keeping_writes
from app.ledger import services as ledger

bp = Blueprint("bureau_approvals", __name__, url_prefix="/bureau")
blp = ApiBlueprint(
    "approvals_api", __name__, url_prefix="/api/v1/bureau", description="Second-admin approvals"
)


def decide(session: Session, actor: Actor, request_id: int, *, approve: bool) -> ApprovalRequest:
    """Decide a request as the second admin; an approved wallet adjustment is posted now."""
    decided = approvals.decide(
        session, actor, request_id, approve=approve,
        independence=approval_independence(),
    )  # fmt: skip
    if approve and decided.action == ApprovalAction.ADJUST_WALLET:
        payload = decided.payload
        posted = ledger.adjust(
            session, actor, holder_id=payload["holder_id"], points=payload["points"],
            reason=payload["reason"], idempotency_key=payload["idempotency_key"],
            policy=ledger_policy(),
            approval_threshold=current_app.config["WALLET_ADJUSTMENT_APPROVAL_POINTS"],
            approved_by=actor.user_id,
        )  # fmt: skip
        approvals.record_result(decided, posted.transaction_id)
    return decided


# --- API --------------------------------------------------------------------------------------


@blp.get("/approvals")
@requires(Permission.MANAGE_STAFF)
@blp.response(200, schemas.ApprovalOut(many=True))
def list_pending() -> list[ApprovalRequest]:
    """Requests waiting for a second admin, oldest first."""
    return approvals.pending(db.session)


@blp.post("/approvals/<int:request_id>/approve", endpoint="approve")
@blp.post("/approvals/<int:request_id>/refuse", endpoint="refuse")
@requires(Permission.MANAGE_STAFF)
@blp.response(200, schemas.ApprovalOut)
def decide_api(request_id: int) -> ApprovalRequest:
    """Approve (and carry out) or refuse a request; never one's own, nor one of an account one
    created (or that created one's own) within ``APPROVAL_INDEPENDENCE_DAYS``."""
    with keeping_writes():
        return decide(db.session, current_actor(), request_id, approve=_approving())


# --- pages ------------------------------------------------------------------------------------


@bp.get("/approvals")
@requires(Permission.MANAGE_STAFF)
def approvals_page() -> str:
    requests = approvals.pending(db.session)
    independence = approval_independence()
    refusals = {}  # the decision's own rule: no buttons where it would refuse
    for item in requests:
        refusal = approvals.decision_refusal(db.session, current_user.id, item, independence)
        refusals[item.id] = str(refusal[1]) if refusal else None
    return render_template(
        "bureau/approvals.html",
        requests=requests,
        details={item.id: _details(db.session, item.summary) for item in requests},
        refusals=refusals,
        form=forms.EmptyForm(),
        action_names=ACTION_NAMES,
    )


#: What a request's summary holds, by name (ids stay out: the name says whose it is).
DETAIL_NAMES = {
    "display_name": _l("Name"),
    "mobile": _l("Mobile number"),
    "from_role": _l("Current role"),
    "role": _l("Role"),
    "points": _l("Points"),
    "reason": _l("Reason"),
}
ROLE_DETAILS = frozenset({"from_role", "role"})


def _details(session: Session, summary: dict[str, Any]) -> list[tuple[str, Any, bool]]:
    """A request's summary as labelled values (a wallet by its holder's name); a role is named
    by the template."""
    found = [
        (str(DETAIL_NAMES[key]), value, key in ROLE_DETAILS)
        for key, value in summary.items()
        if key in DETAIL_NAMES
    ]
    if "holder_id" in summary:
        holder = session.get(User, summary["holder_id"])
        found.insert(0, (str(_l("Wallet")), holder.display_name if holder else "", False))
    return found


ACTION_NAMES = {
    ApprovalAction.CREATE_ADMIN: _l("New bureau admin"),
    ApprovalAction.CHANGE_ROLE: _l("Change of role"),
    ApprovalAction.ADJUST_WALLET: _l("Wallet adjustment"),
}


@bp.post("/approvals/<int:request_id>/approve", endpoint="approve")
@bp.post("/approvals/<int:request_id>/refuse", endpoint="refuse")
@requires(Permission.MANAGE_STAFF)
def decide_page(request_id: int) -> Any:
    if not forms.EmptyForm().validate_on_submit():
        return redirect(url_for("bureau_approvals.approvals_page"))
    approve = _approving()
    with keeping_writes():  # a refused attempt to decide stays in the audit log
        decide(db.session, current_actor(), request_id, approve=approve)
    flash(_("Approved and carried out.") if approve else _("Refused."), "success")
    return redirect(url_for("bureau_approvals.approvals_page"))


def _approving() -> bool:
    return request.path.endswith("/approve")
