"""Holders see the banks they authorised and withdraw them at once; the bureau registers banks."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.banks.models import BankClient, BankGrant, digest
from tests.banks.support import register_bank, tokens
from tests.factories import csrf_token_from, log_in, make_user

SUMMARY = "/api/v1/consented/carbon-summary"
TOKEN_URL = "http://localhost/oauth/token"


def _holder(client, session, role=Role.RESIDENT):  # type: ignore[no-untyped-def]
    holder = make_user(session, role)
    session.commit()
    log_in(client, holder)
    return holder


def test_a_revoked_grants_access_and_refresh_tokens_fail_at_once(app, client, session):
    registered = register_bank(session)
    _holder(client, session)
    bank = tokens(app.test_client(), client, registered, "carbon.summary carbon.statement")
    flask_client = app.test_client()
    bearer = {"Authorization": f"Bearer {bank.token['access_token']}"}
    assert flask_client.get(SUMMARY, headers=bearer).status_code == 200
    (grant,) = client.get("/api/v1/me/authorised-apps").get_json()
    assert grant["bank"] == "绿色银行"
    assert grant["scopes"] == ["carbon.summary", "carbon.statement"]
    token = csrf_token_from(client, "/me/authorised-apps")
    revoked = client.delete(
        f"/api/v1/me/authorised-apps/{grant['id']}", headers={"X-CSRFToken": token}
    )
    assert revoked.status_code == 204
    refused = flask_client.get(SUMMARY, headers=bearer)
    assert refused.status_code == 401
    assert refused.get_json()["reason"] == "invalid_token"
    refresh = flask_client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": bank.token["refresh_token"]},
        auth=(registered.client.client_id, registered.client_secret),
    )
    assert (refresh.status_code, refresh.get_json()["error"]) == (400, "invalid_grant")
    assert client.get("/api/v1/me/authorised-apps").get_json() == []
    again = client.delete(
        f"/api/v1/me/authorised-apps/{grant['id']}", headers={"X-CSRFToken": token}
    )
    assert again.status_code == 404
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "bank.grant_revoke")
    ).one()
    assert entry.summary["client_id"] == registered.client.client_id


def test_the_page_lists_authorised_apps_and_withdraws_one(app, client, session):
    registered = register_bank(session, name="宁夏绿色银行")
    holder = _holder(client, session, Role.ORGANISATION)
    bank = tokens(app.test_client(), client, registered, "carbon.summary org.performance")
    page = client.get("/me/authorised-apps")
    html = page.get_data(as_text=True)
    assert "宁夏绿色银行" in html and "授信" in html
    grant = session.scalars(sa.select(BankGrant)).one()
    csrf = csrf_token_from(client, "/me/authorised-apps")
    answer = client.post(f"/me/authorised-apps/{grant.id}/revoke", data={"csrf_token": csrf})
    assert answer.status_code == 303
    after = client.get("/me/authorised-apps").get_data(as_text=True)
    assert "目前没有银行可以读取您的记录" in after
    bearer = {"Authorization": f"Bearer {bank.token['access_token']}"}
    assert app.test_client().get(SUMMARY, headers=bearer).status_code == 401
    # Another holder cannot withdraw it (nor learn that it exists).
    other_client = app.test_client()
    _holder(other_client, session)
    csrf = csrf_token_from(other_client, "/me/authorised-apps")
    stranger = other_client.post(
        f"/me/authorised-apps/{grant.id}/revoke", data={"csrf_token": csrf}
    )
    assert stranger.status_code == 404
    assert session.scalars(sa.select(BankGrant.user_id)).one() == holder.id


def test_the_bureau_registers_a_bank_and_sees_the_secret_once(app, client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, admin)
    csrf = {"X-CSRFToken": csrf_token_from(client, "/bureau/")}
    body = {
        "name": "宁夏银行",
        "logo_uri": "https://bank.example/logo.png",
        "redirect_uris": ["https://bank.example/callback", "http://127.0.0.1:8080/cb"],
        "scopes": ["org.performance", "carbon.summary"],
    }
    created = client.post("/api/v1/bureau/banks", json=body, headers=csrf)
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert data["scopes"] == ["carbon.summary", "org.performance"]
    stored = session.scalars(sa.select(BankClient)).one()
    assert stored.secret_hash == digest(data["client_secret"])
    listed = client.get("/api/v1/bureau/banks").get_json()
    assert [bank["client_id"] for bank in listed] == [data["client_id"]]
    assert "client_secret" not in listed[0]
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "bank.client_register")
        )
        == 1
    )


def test_a_bank_registration_with_bad_fields_is_refused_and_nothing_written(app, client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, admin)
    csrf = {"X-CSRFToken": csrf_token_from(client, "/bureau/")}
    good = {
        "name": "银行",
        "redirect_uris": ["https://bank.example/cb"],
        "scopes": ["carbon.summary"],
    }
    for change in (
        {"redirect_uris": ["http://bank.example/cb"]},  # plain http off loopback
        {"redirect_uris": ["https://bank.example/cb#x"]},
        {"redirect_uris": []},
        {"scopes": ["carbon.everything"]},
        {"scopes": []},
        {"logo_uri": "http://bank.example/logo.png"},
        {"name": ""},
    ):
        answer = client.post("/api/v1/bureau/banks", json=good | change, headers=csrf)
        assert answer.status_code == 422, change
        assert answer.get_json()["errors"], change
    assert session.scalar(sa.select(sa.func.count()).select_from(BankClient)) == 0


def test_the_bureau_registers_a_bank_on_its_page(app, client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, admin)
    csrf = csrf_token_from(client, "/bureau/banks")
    form = {
        "csrf_token": csrf,
        "name": "宁夏银行",
        "redirect_uris": "https://bank.example/callback\nhttps://bank.example/cb2\n",
        "scopes": ["carbon.summary", "carbon.statement"],
    }
    bad = client.post("/bureau/banks", data=form | {"redirect_uris": "http://bank.example/cb"})
    assert bad.status_code == 422
    assert "回调地址须为" in bad.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(BankClient)) == 0
    page = client.post("/bureau/banks", data=form)
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    stored = session.scalars(sa.select(BankClient)).one()
    assert stored.redirect_uris == ["https://bank.example/callback", "https://bank.example/cb2"]
    secret = html.split('client_secret: <code class="wrap">')[1].split("<")[0]
    assert stored.secret_hash == digest(secret)
    listing = client.get("/bureau/banks").get_data(as_text=True)
    assert stored.client_id in listing and secret not in listing
