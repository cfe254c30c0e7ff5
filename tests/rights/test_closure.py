"""Closing an account (#20): a 15-day cooling-off the resident cancels; asked twice, cancelled
twice or after erasure, or by an organisation: a clear refusal and nothing changed; audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.errors import Conflict, DomainError
from app.rights import closure
from app.rights.models import AccountClosure, ClosureStatus
from tests.factories import credentials, log_in, make_user
from tests.rights.support import COOLING_OFF, post_form, run_erasure


def _closures(session, user) -> list[tuple[ClosureStatus, object]]:
    session.expire_all()
    return [
        (closure.status, closure.erase_after)
        for closure in session.scalars(
            sa.select(AccountClosure).where(AccountClosure.user_id == user.id)
        )
    ]


def _actions(session, user) -> list[str]:
    return list(
        session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.object_id == str(user.id), AuditEntry.action.like("account.%"))
            .order_by(AuditEntry.id)
        )
    )


def _bearer(client, user) -> dict[str, str]:
    token = client.post("/api/v1/auth/tokens", json=credentials(user)).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_a_closure_is_cancelled_during_cooling_off_and_nothing_is_erased(
    city, client, session, frozen
):
    resident = make_user(session)
    headers = _bearer(client, resident)
    asked = client.post("/api/v1/me/closure", headers=headers)
    assert asked.status_code == 202
    body = asked.get_json()
    assert body["status"] == "pending"
    assert body["erase_after"] == "2026-12-09T12:00:00+00:00"  # 15 days from now
    again = client.post("/api/v1/me/closure", headers=headers)
    assert again.status_code == 409 and again.get_json()["reason"] == "closure_already_requested"
    assert len(_closures(session, resident)) == 1

    frozen.shift(COOLING_OFF - timedelta(seconds=1))
    cancelled = client.delete("/api/v1/me/closure", headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    twice = client.delete("/api/v1/me/closure", headers=headers)
    assert twice.status_code == 409 and twice.get_json()["reason"] == "no_pending_closure"
    frozen.shift(timedelta(days=1))
    assert run_erasure(city, session) == 0
    session.expire_all()
    assert session.get(type(resident), resident.id).mobile == resident.mobile
    assert _actions(session, resident) == ["account.close_request", "account.close_cancel"]


def test_the_page_shows_the_date_and_cancels(city, client, session, frozen):
    resident = make_user(session)
    log_in(client, resident)
    done = post_form(client, "/me/privacy", "/me/privacy/close")
    assert done.status_code == 302
    page = client.get("/me/privacy").get_data(as_text=True)
    assert "Keep my account" in page or "保留" in page
    again = post_form(client, "/me/privacy", "/me/privacy/close")
    assert again.status_code == 302
    assert (
        "already asked" in client.get("/me/privacy").get_data(as_text=True)
        or len(_closures(session, resident)) == 1
    )
    assert len(_closures(session, resident)) == 1
    post_form(client, "/me/privacy", "/me/privacy/close/cancel")
    assert _closures(session, resident)[0][0] == ClosureStatus.CANCELLED


def test_a_closure_cannot_be_cancelled_after_erasure(city, client, session, frozen):
    resident = make_user(session)
    headers = _bearer(client, resident)
    assert client.post("/api/v1/me/closure", headers=headers).status_code == 202
    frozen.shift(COOLING_OFF)
    assert run_erasure(city, session) == 1
    late = client.delete("/api/v1/me/closure", headers=headers)
    assert late.status_code == 401  # the account and its tokens are gone
    assert _closures(session, resident)[0][0] == ClosureStatus.ERASED
    assert _actions(session, resident) == ["account.close_request", "account.erase"]


def test_only_a_residents_or_an_organisations_account_closes_here(city, client, session):
    cashier = make_user(session, Role.MERCHANT_STAFF, merchant_role="cashier")
    cashier.must_change_password = False
    session.commit()
    refused = client.post("/api/v1/me/closure", headers=_bearer(client, cashier))
    assert refused.status_code in (403, 401)
    assert _closures(session, cashier) == []
    with pytest.raises(DomainError) as error:
        closure.request_closure(session, SYSTEM, cashier, cooling_off=COOLING_OFF)
    assert error.value.reason == "closure_not_available"
    assert _closures(session, cashier) == []


def test_the_service_refuses_to_cancel_an_erased_closure(city, session, frozen):
    resident = make_user(session)
    closure.request_closure(session, SYSTEM, resident, cooling_off=COOLING_OFF)
    session.commit()
    frozen.shift(COOLING_OFF)
    assert run_erasure(city, session) == 1
    with pytest.raises(Conflict) as refused:
        closure.cancel_closure(session, SYSTEM, resident.id)
    assert refused.value.reason == "no_pending_closure"
    assert _closures(session, resident)[0][0] == ClosureStatus.ERASED
