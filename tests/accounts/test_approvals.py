"""No one-person power (#24): a new bureau admin, a change of role and a wallet adjustment above
the threshold take a second, different admin; never the asker, nor an admin the asker created
(or who created the asker) within APPROVAL_INDEPENDENCE_DAYS. Refused attempts to decide are
audited and change nothing else; decisions are audited with both names."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from app import clock
from app.accounts.models import ApprovalRequest, ApprovalStatus, User
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.errors import DomainError
from app.ledger import services as ledger
from app.ledger.policy import LedgerPolicy
from tests.factories import credentials, csrf_token_from, log_in, make_user, next_mobile
from tests.merchants.support import SHANGHAI, balance

NEW_ADMIN = {"password": "an-admins-long-passphrase", "display_name": "新管理员",
             "role": "bureau_admin"}  # fmt: skip


def made_by(session, creator: User) -> User:
    """A bureau admin whose account ``creator`` made (as an approved request would)."""
    user = make_user(session, Role.BUREAU_ADMIN)
    user.created_by_id = creator.id
    user.created_at = clock.now()
    session.flush()
    return user


def bearer(client, user: User) -> dict[str, str]:
    response = client.post("/api/v1/auth/tokens", json=credentials(user))
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def actions(session, object_type: str, object_id: object) -> list[str]:
    return list(
        session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
            .order_by(AuditEntry.id)
        )
    )


def decide(client, headers, request_id: int, verb: str = "approve"):
    return client.post(f"/api/v1/bureau/approvals/{request_id}/{verb}", headers=headers)


def test_one_admin_alone_cannot_make_another_admin(app, client, session):
    first = make_user(session, Role.BUREAU_ADMIN)
    second = make_user(session, Role.BUREAU_ADMIN)
    headers = bearer(client, first)
    mobile = next_mobile()
    asked = client.post("/api/v1/bureau/staff", json=NEW_ADMIN | {"mobile": mobile},
                        headers=headers)  # fmt: skip
    assert asked.status_code == 202, asked.get_json()
    body = asked.get_json()
    assert body["status"] == "pending" and body["action"] == "staff.create_admin"
    assert "password" not in str(body) and mobile not in str(body)  # masked, no secret
    assert session.scalar(sa.select(User).where(User.mobile == mobile)) is None

    own = decide(client, headers, body["id"])
    assert own.status_code == 403 and own.get_json()["reason"] == "own_request"
    session.expire_all()
    assert session.get(ApprovalRequest, body["id"]).status == ApprovalStatus.PENDING
    assert session.scalar(sa.select(User).where(User.mobile == mobile)) is None
    assert actions(session, "approval_request", body["id"]) == [
        "approval.request", "approval.decision_refused",
    ]  # fmt: skip

    approved = decide(client, bearer(client, second), body["id"])
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    session.expire_all()
    made = session.scalar(sa.select(User).where(User.mobile == mobile))
    assert made.role == Role.BUREAU_ADMIN and made.created_by_id == first.id
    assert made.must_change_password
    assert approved.get_json()["result"] == str(made.id)
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "approval.approve")
    ).one()
    assert entry.actor_id == second.id
    assert (entry.summary["requested_by"], entry.summary["decided_by"]) == (
        first.display_name, second.display_name,
    )  # fmt: skip
    again = decide(client, bearer(client, second), body["id"])
    assert again.status_code == 409 and again.get_json()["reason"] == "already_decided"


def test_the_staff_service_refuses_a_new_admin_from_a_person(session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    from app.accounts import services
    from app.audit.services import Actor

    try:
        services.create_staff(
            session, Actor(user_id=admin.id, role=Role.BUREAU_ADMIN), mobile=next_mobile(),
            password="an-admins-long-passphrase", display_name="x", role=Role.BUREAU_ADMIN,
        )  # fmt: skip
    except DomainError as error:
        assert error.reason == "approval_required" and error.status == 409
    else:
        raise AssertionError("one admin made another")


def test_an_admin_cannot_approve_for_an_account_they_created_until_the_period_ends(
    app, client, session
):
    days = app.config["APPROVAL_INDEPENDENCE_DAYS"]
    creator = make_user(session, Role.BUREAU_ADMIN)
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        created = made_by(session, creator)
        asked = client.post(
            "/api/v1/bureau/staff/" f"{make_user(session, Role.VERIFIER).id}/role",
            json={"role": "bureau_reviewer"}, headers=bearer(client, created),
        )  # fmt: skip
        assert asked.status_code == 202
        request_id = asked.get_json()["id"]
        traveller.move_to(start + timedelta(days=days, seconds=-1))
        refused = decide(client, bearer(client, creator), request_id)
        assert refused.status_code == 403 and refused.get_json()["reason"] == "not_independent"
        traveller.move_to(start + timedelta(days=days, seconds=1))
        assert decide(client, bearer(client, creator), request_id).status_code == 200


def test_the_account_an_admin_was_created_by_cannot_approve_for_them_either(client, session):
    """The issue's finding the other way round: admin B, made by A, approving A's request."""
    first = make_user(session, Role.BUREAU_ADMIN)
    made_by_first = made_by(session, first)
    asked = client.post("/api/v1/bureau/staff", json=NEW_ADMIN | {"mobile": next_mobile()},
                        headers=bearer(client, first))  # fmt: skip
    refused = decide(client, bearer(client, made_by_first), asked.get_json()["id"])
    assert refused.status_code == 403 and refused.get_json()["reason"] == "not_independent"
    assert refused.get_json()["message"]


def test_a_large_adjustment_waits_for_a_second_admin(app, client, session):
    threshold = app.config["WALLET_ADJUSTMENT_APPROVAL_POINTS"]
    first, second = (make_user(session, Role.BUREAU_ADMIN) for _ in range(2))
    resident = make_user(session)
    url = f"/api/v1/bureau/ledger/wallets/{resident.id}/adjustments"
    headers = bearer(client, first)
    at = client.post(url, json={"points": threshold, "reason": "补发", "idempotency_key": "k1"},
                     headers=headers)  # fmt: skip
    assert at.status_code == 201  # exactly at the threshold: posted by one admin
    assert balance(session, resident) == threshold
    past = client.post(url, json={"points": threshold + 1, "reason": "补发",
                                  "idempotency_key": "k2"}, headers=headers)  # fmt: skip
    assert past.status_code == 202 and past.get_json()["status"] == "pending"
    assert balance(session, resident) == threshold  # nothing posted yet
    huge = client.post(url, json={"points": 10**15, "reason": "x", "idempotency_key": "k3"},
                       headers=headers)  # fmt: skip
    assert huge.status_code in {202, 422}
    assert decide(client, headers, past.get_json()["id"]).status_code == 403
    assert balance(session, resident) == threshold
    done = decide(client, bearer(client, second), past.get_json()["id"])
    assert done.status_code == 200, done.get_json()
    assert balance(session, resident) == 2 * threshold + 1
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "ledger.adjust").order_by(AuditEntry.id)
    ).all()[-1]
    assert entry.actor_id == second.id and entry.summary["approved_by"] == second.id
    if huge.status_code == 202:
        refused = decide(client, bearer(client, second), huge.get_json()["id"], "refuse")
        assert refused.status_code == 200 and refused.get_json()["status"] == "refused"
        assert balance(session, resident) == 2 * threshold + 1


def test_the_ledger_itself_refuses_a_large_adjustment_without_approval(session):
    resident = make_user(session)
    try:
        ledger.adjust(
            session, SYSTEM, holder_id=resident.id, points=101, reason="x", idempotency_key="k",
            policy=LedgerPolicy(zone=SHANGHAI), approval_threshold=100,
        )  # fmt: skip
    except DomainError as error:
        assert error.reason == "approval_required"
    else:
        raise AssertionError("posted without approval")
    assert balance(session, resident) == 0


def test_a_change_of_role_is_approved_on_the_page_and_ends_the_accounts_sessions(
    app, client, session
):
    first, second = (make_user(session, Role.BUREAU_ADMIN) for _ in range(2))
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    reviewer_page = app.test_client()
    log_in(reviewer_page, reviewer)
    log_in(client, first)
    token = csrf_token_from(client, "/bureau/staff")
    asked = client.post(f"/bureau/staff/{reviewer.id}/role",
                        data={"csrf_token": token, "role": "verifier"})  # fmt: skip
    assert asked.status_code == 302
    request_id = session.scalar(sa.select(sa.func.max(ApprovalRequest.id)))
    listed = client.get("/bureau/approvals").get_data(as_text=True)
    assert reviewer.display_name in listed
    own = client.post(f"/bureau/approvals/{request_id}/approve", data={"csrf_token": token})
    assert own.status_code == 403
    session.expire_all()
    assert session.get(User, reviewer.id).role == Role.BUREAU_REVIEWER

    other = app.test_client()
    log_in(other, second)
    token = csrf_token_from(other, "/bureau/approvals")
    done = other.post(f"/bureau/approvals/{request_id}/approve", data={"csrf_token": token})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(User, reviewer.id).role == Role.VERIFIER
    assert reviewer_page.get("/bureau/").status_code == 302  # its old sessions ended
    assert actions(session, "user", reviewer.id)[-1] == "staff.role_change"


def test_the_approvals_page_offers_a_decision_only_where_the_rule_allows_one(app, client, session):
    asker = make_user(session, Role.BUREAU_ADMIN)
    made = made_by(session, asker)  # made by the asker, recently: not a second pair of eyes
    independent = make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, asker)
    token = csrf_token_from(client, "/bureau/staff")
    target = make_user(session, Role.BUREAU_REVIEWER, display_name="王审核")
    session.commit()
    client.post(f"/bureau/staff/{target.id}/role", data={"csrf_token": token, "role": "verifier"})
    request_id = session.scalar(sa.select(sa.func.max(ApprovalRequest.id)))
    approve, refuse = (f"/bureau/approvals/{request_id}/{verb}" for verb in ("approve", "refuse"))
    for person, offered, why in (
        (asker, False, "这是您提交的申请"),
        (made, False, "申请人的账号由您近期创建"),
        (independent, True, None),
    ):
        log_in(client, person)
        page = client.get("/bureau/approvals").get_data(as_text=True)
        assert (approve in page, refuse in page) == (offered, offered), person.display_name
        if why:
            assert why in page
    assert "<dt>现有角色</dt><dd>生态环境局审核员</dd>" in page and "王审核" in page
    assert "from_role" not in page and "bureau_reviewer" not in page  # words, not codes
    made.created_at = clock.now() - timedelta(days=app.config["APPROVAL_INDEPENDENCE_DAYS"] + 1)
    session.commit()
    log_in(client, made)
    assert approve in client.get("/bureau/approvals").get_data(as_text=True)  # the period is over
