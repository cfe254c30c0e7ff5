"""A bank tied to its financial merchant is told by webhook when a holder revokes a grant."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import time_machine
from standardwebhooks import Webhook

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.banks import services
from app.banks.models import BankClient, BankGrant
from app.merchants.models import MerchantKind, MerchantStatus
from app.webhooks.delivery import body_of, signed_headers
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.banks.support import REDIRECT_URI, tokens
from tests.factories import csrf_token_from, log_in, make_user
from tests.merchants.support import make_merchant, make_staff
from tests.webhooks.support import register_endpoint

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
HOOK_URL = "http://127.0.0.1:18261/hooks/tanpuhui"


def _bank(session, *, merchant: bool = True):  # type: ignore[no-untyped-def]
    """A financial merchant with a manager, and its OAuth client tied to it (or not)."""
    bank, _branch = make_merchant(session, name="银川绿色银行", kind=MerchantKind.FINANCIAL)
    manager = make_staff(session, bank, "manager")
    registered = services.register_client(
        session, SYSTEM, name="银川绿色银行", redirect_uris=[REDIRECT_URI],
        scopes=["carbon.summary"], merchant_id=bank.id if merchant else None,
    )  # fmt: skip
    session.commit()
    return bank, manager, registered


def _resident(client, session):  # type: ignore[no-untyped-def]
    resident = make_user(session, Role.RESIDENT, display_name="张小绿")
    session.commit()
    log_in(client, resident)
    return resident


def _revoke(client, grant_id: int):  # type: ignore[no-untyped-def]
    csrf = {"X-CSRFToken": csrf_token_from(client, "/me/authorised-apps")}
    return client.delete(f"/api/v1/me/authorised-apps/{grant_id}", headers=csrf)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_revoked_grant_queues_one_signed_delivery_and_a_second_revoke_none(app, client, session):
    bank, manager, registered = _bank(session)
    with time_machine.travel(T0, tick=False):
        endpoint = register_endpoint(app.test_client(), manager, HOOK_URL, ["grant.revoked"])
        # An endpoint of the same bank not subscribed to grant.revoked is not told.
        register_endpoint(app.test_client(), manager, HOOK_URL, ["redemption.confirmed"])
        resident = _resident(client, session)
        tokens(app.test_client(), client, registered, "carbon.summary")
        grant = session.scalars(sa.select(BankGrant)).one()
        assert _count(session, WebhookDelivery) == 0
        revoked = _revoke(client, grant.id)
    assert revoked.status_code == 204

    [delivery] = session.scalars(sa.select(WebhookDelivery)).all()
    event = session.get(WebhookEvent, delivery.event_id)
    assert (delivery.endpoint_id, delivery.status, delivery.attempts) == (
        endpoint["id"], DeliveryStatus.PENDING, 0,
    )  # fmt: skip
    assert (event.merchant_id, event.event_id) == (bank.id, f"grant.revoked.{grant.id}")
    assert event.payload == {
        "type": "grant.revoked",
        "timestamp": T0.isoformat(),
        "data": {
            "client_id": registered.client.client_id,
            "grant_id": grant.id,
            "scopes": ["carbon.summary"],
            "revoked_at": T0.isoformat(),
        },
    }
    # Nothing personal: neither the resident's id, name nor mobile is in what is sent.
    body = body_of(event.payload)
    for personal in (resident.display_name, resident.mobile, f'"user_id":{resident.id}'):
        assert personal.encode() not in body
    # Signed as the worker signs it, it verifies with the secret the bank was shown.
    headers = signed_headers(
        session.get(WebhookEndpoint, endpoint["id"]).secret, event.event_id, T0, body
    )
    with time_machine.travel(T0, tick=False):
        assert Webhook(endpoint["secret"]).verify(body, headers) == event.payload

    with time_machine.travel(T0, tick=False):
        again = _revoke(client, grant.id)
    assert again.status_code == 404 and again.get_json()["reason"] == "grant_not_found"
    assert (_count(session, WebhookEvent), _count(session, WebhookDelivery)) == (1, 1)
    assert (
        session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "bank.grant_revoke"))
        == 1
    )


def test_revoking_on_the_page_queues_the_event_too(app, client, session):
    _bank_merchant, manager, registered = _bank(session)
    register_endpoint(app.test_client(), manager, HOOK_URL, ["grant.revoked"])
    _resident(client, session)
    tokens(app.test_client(), client, registered, "carbon.summary")
    grant = session.scalars(sa.select(BankGrant)).one()
    csrf = csrf_token_from(client, "/me/authorised-apps")
    answer = client.post(f"/me/authorised-apps/{grant.id}/revoke", data={"csrf_token": csrf})
    assert answer.status_code == 303
    session.expire_all()
    assert session.scalars(sa.select(WebhookEvent.event_id)).all() == [f"grant.revoked.{grant.id}"]
    assert _count(session, WebhookDelivery) == 1


def test_no_endpoint_or_no_merchant_queues_nothing(app, client, session):
    for tied in (True, False):
        _bank_merchant, _manager, registered = _bank(session, merchant=tied)
        resident_client = app.test_client()
        _resident(resident_client, session)
        tokens(app.test_client(), resident_client, registered, "carbon.summary")
        grant = session.scalars(
            sa.select(BankGrant).where(BankGrant.client_id == registered.client.id)
        ).one()
        assert _revoke(resident_client, grant.id).status_code == 204
        session.expire_all()
        assert session.get(BankGrant, grant.id).revoked_at is not None
    assert (_count(session, WebhookEvent), _count(session, WebhookDelivery)) == (0, 0)


def test_a_bank_revoking_its_own_token_is_not_announced(app, client, session):
    _bank_merchant, manager, registered = _bank(session)
    register_endpoint(app.test_client(), manager, HOOK_URL, ["grant.revoked"])
    _resident(client, session)
    bank = tokens(app.test_client(), client, registered, "carbon.summary")
    answer = app.test_client().post(
        "/oauth/revoke",
        data={"token": bank.token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(registered.client.client_id, registered.client_secret),
    )
    assert answer.status_code == 200
    assert (_count(session, WebhookEvent), _count(session, WebhookDelivery)) == (0, 0)
    session.expire_all()
    assert session.scalars(sa.select(BankGrant.revoked_at)).one() is None


def _bureau(client, session):  # type: ignore[no-untyped-def]
    admin = make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, admin)


def test_the_api_ties_a_bank_to_an_approved_financial_merchant_only(app, client, session):
    financial, _ = make_merchant(session, name="宁夏银行", kind=MerchantKind.FINANCIAL)
    parking, _ = make_merchant(session, name="绿色停车场", kind=MerchantKind.PARKING)
    pending, _ = make_merchant(
        session, name="新银行", kind=MerchantKind.FINANCIAL, status=MerchantStatus.PENDING
    )
    _bureau(client, session)
    csrf = {"X-CSRFToken": csrf_token_from(client, "/bureau/")}
    body = {"name": "宁夏银行", "redirect_uris": [REDIRECT_URI], "scopes": ["carbon.summary"]}
    refusals = {
        parking.id: (422, "merchant_not_financial"),
        pending.id: (422, "merchant_not_approved"),
        pending.id + 1000: (422, "merchant_not_financial"),
    }
    for merchant_id, (status, reason) in refusals.items():
        answer = client.post(
            "/api/v1/bureau/banks", json=body | {"merchant_id": merchant_id}, headers=csrf
        )
        error = answer.get_json()
        assert (answer.status_code, error["reason"]) == (status, reason), merchant_id
        assert "merchant_id" in error["errors"]
    for bad in ("1", 0, -1, 2**63, 1.5):
        answer = client.post("/api/v1/bureau/banks", json=body | {"merchant_id": bad}, headers=csrf)
        assert answer.status_code == 422 and "merchant_id" in answer.get_json()["errors"], bad
    assert _count(session, BankClient) == 0
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "bank.client_register")
        )
        == 0
    )

    # The largest id is a well-formed id naming no merchant: refused the same way.
    largest = client.post(
        "/api/v1/bureau/banks", json=body | {"merchant_id": 2**63 - 1}, headers=csrf
    )
    assert largest.get_json()["reason"] == "merchant_not_financial"
    created = client.post(
        "/api/v1/bureau/banks", json=body | {"merchant_id": financial.id}, headers=csrf
    )
    assert created.status_code == 201 and created.get_json()["merchant_id"] == financial.id
    plain = client.post("/api/v1/bureau/banks", json=body | {"merchant_id": None}, headers=csrf)
    assert plain.status_code == 201 and plain.get_json()["merchant_id"] is None
    listed = client.get("/api/v1/bureau/banks").get_json()
    assert [bank["merchant_id"] for bank in listed] == [financial.id, None]


def test_the_page_offers_approved_financial_merchants_and_refuses_others(app, client, session):
    financial, _ = make_merchant(session, name="宁夏银行", kind=MerchantKind.FINANCIAL)
    parking, _ = make_merchant(session, name="绿色停车场", kind=MerchantKind.PARKING)
    _bureau(client, session)
    page = client.get("/bureau/banks").get_data(as_text=True)
    assert "宁夏银行" in page and "绿色停车场" not in page
    form = {
        "csrf_token": csrf_token_from(client, "/bureau/banks"),
        "name": "宁夏银行",
        "redirect_uris": REDIRECT_URI,
        "scopes": ["carbon.summary"],
    }
    for bad in (str(parking.id), "abc"):
        refused = client.post("/bureau/banks", data=form | {"merchant_id": bad})
        assert refused.status_code == 422
        assert "请选择金融类商户" in refused.get_data(as_text=True)
    assert _count(session, BankClient) == 0
    created = client.post("/bureau/banks", data=form | {"merchant_id": str(financial.id)})
    assert created.status_code == 201
    assert session.scalars(sa.select(BankClient.merchant_id)).one() == financial.id
    none = client.post("/bureau/banks", data=form | {"merchant_id": ""})
    assert none.status_code == 201
    session.expire_all()
    assert session.scalars(sa.select(BankClient.merchant_id).order_by(BankClient.id)).all() == [
        financial.id,
        None,
    ]
