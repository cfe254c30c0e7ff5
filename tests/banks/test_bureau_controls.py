"""The bureau rotates a bank's client secret and switches a bank off and back on."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.banks.models import BankAuthorizationCode, BankClient, BankGrant, BankToken, digest
from tests.banks.support import (
    authorize_url,
    bank_session,
    code_of,
    consent,
    register_bank,
    tokens,
)
from tests.factories import csrf_token_from, log_in, make_user

SUMMARY = "/api/v1/consented/carbon-summary"


def _signed_in(app, session, role):  # type: ignore[no-untyped-def]
    """A test client signed in as a new account of ``role``, and its CSRF header."""
    client = app.test_client()
    user = make_user(session, role)
    session.commit()
    log_in(client, user)
    return client, user, {"X-CSRFToken": csrf_token_from(client, "/me/security")}


def _holder_with_tokens(app, client, session, registered):  # type: ignore[no-untyped-def]
    holder = make_user(session, Role.RESIDENT)
    session.commit()
    log_in(client, holder)
    return tokens(app.test_client(), client, registered, "carbon.summary")


def _refresh(app, registered, refresh_token, secret):  # type: ignore[no-untyped-def]
    return app.test_client().post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(registered.client.client_id, secret),
    )


def _introspect(app, registered, token, secret):  # type: ignore[no-untyped-def]
    return app.test_client().post(
        "/oauth/introspect", data={"token": token}, auth=(registered.client.client_id, secret)
    )


def _actions(session) -> list[str]:  # type: ignore[no-untyped-def]
    return list(session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_rotated_secret_is_shown_once_and_the_old_one_is_refused_at_once(app, client, session):
    registered = register_bank(session)
    old_secret = registered.client_secret
    bank = _holder_with_tokens(app, client, session, registered)
    admin_client, admin, csrf = _signed_in(app, session, Role.BUREAU_ADMIN)

    answer = admin_client.post(f"/api/v1/bureau/banks/{registered.client.id}/secret", headers=csrf)

    assert answer.status_code == 201, answer.get_json()
    data = answer.get_json()
    new_secret = data["client_secret"]
    assert new_secret != old_secret
    assert (data["client_id"], data["is_active"]) == (registered.client.client_id, True)
    stored = session.scalars(sa.select(BankClient)).one()
    session.refresh(stored)
    assert stored.secret_hash == digest(new_secret) and new_secret not in stored.secret_hash
    old = _refresh(app, registered, bank.token["refresh_token"], old_secret)
    assert (old.status_code, old.get_json()["error"]) == (401, "invalid_client")
    new = _refresh(app, registered, bank.token["refresh_token"], new_secret)
    assert new.status_code == 200, new.get_json()
    # The tokens are not the secret: the new access token reads as before.
    bearer = {"Authorization": f"Bearer {new.get_json()['access_token']}"}
    assert app.test_client().get(SUMMARY, headers=bearer).status_code == 200
    listed = admin_client.get("/api/v1/bureau/banks").get_json()
    assert "client_secret" not in listed[0]
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "bank.client_secret_rotate")
    ).one()
    assert (entry.actor_id, entry.object_id) == (admin.id, str(registered.client.id))
    assert new_secret not in str(entry.summary) and old_secret not in str(entry.summary)


def test_the_page_rotates_a_secret_in_its_one_answer_never_flashed(app, session):
    registered = register_bank(session, name="宁夏银行")
    admin_client, _admin, _csrf = _signed_in(app, session, Role.BUREAU_ADMIN)
    listing = admin_client.get("/bureau/banks").get_data(as_text=True)
    assert "更换密钥" in listing and "停用" in listing
    csrf = csrf_token_from(admin_client, "/bureau/banks")

    page = admin_client.post(
        f"/bureau/banks/{registered.client.id}/secret", data={"csrf_token": csrf}
    )

    assert page.status_code == 201
    html = page.get_data(as_text=True)
    secret = html.split('client_secret: <code class="wrap">')[1].split("<")[0]
    stored = session.scalars(sa.select(BankClient)).one()
    session.refresh(stored)
    assert stored.secret_hash == digest(secret)
    assert "旧密钥已失效" in html
    assert secret not in admin_client.get("/bureau/banks").get_data(as_text=True)
    # Without the CSRF token nothing changes.
    refused = admin_client.post(f"/bureau/banks/{registered.client.id}/secret", data={})
    assert refused.status_code == 400
    session.refresh(stored)
    assert stored.secret_hash == digest(secret)
    assert _actions(session).count("bank.client_secret_rotate") == 1


def test_a_switched_off_bank_is_refused_everywhere_and_its_tokens_end(app, client, session):
    registered = register_bank(session)
    other = register_bank(session, name="另一家银行")
    bank = _holder_with_tokens(app, client, session, registered)
    other_bank = tokens(app.test_client(), client, other, "carbon.summary")
    # A code the holder gave just before the switch-off, not yet exchanged.
    pending = bank_session(app.test_client(), registered, "carbon.summary")
    url, verifier = authorize_url(pending)
    location = consent(client, url)
    admin_client, admin, csrf = _signed_in(app, session, Role.BUREAU_ADMIN)
    secret = registered.client_secret

    answer = admin_client.patch(
        f"/api/v1/bureau/banks/{registered.client.id}", json={"is_active": False}, headers=csrf
    )

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["is_active"] is False and answer.get_json()["disabled_at"]
    bearer = {"Authorization": f"Bearer {bank.token['access_token']}"}
    refused = app.test_client().get(SUMMARY, headers=bearer)
    assert (refused.status_code, refused.get_json()["reason"]) == (401, "invalid_token")
    refresh = _refresh(app, registered, bank.token["refresh_token"], secret)
    assert (refresh.status_code, refresh.get_json()["error"]) == (401, "invalid_client")
    exchange = app.test_client().post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code_of(location),
            "redirect_uri": "https://bank.example/callback",
            "code_verifier": verifier,
        },
        auth=(registered.client.client_id, secret),
    )
    assert (exchange.status_code, exchange.get_json()["error"]) == (401, "invalid_client")
    introspect = _introspect(app, registered, bank.token["access_token"], secret)
    assert (introspect.status_code, introspect.get_json()["error"]) == (401, "invalid_client")
    url, _verifier = authorize_url(bank_session(app.test_client(), registered, "carbon.summary"))
    page = client.get(url.removeprefix("http://localhost"))
    assert page.status_code == 400
    assert "已被生态环境局停用" in page.get_data(as_text=True)
    # Its tokens and codes are ended; the holder's grants and the other bank are untouched.
    assert all(token.revoked_at for token in _tokens_of(session, registered.client.id))
    assert (
        session.scalar(sa.select(sa.func.count()).where(BankAuthorizationCode.used_at.is_(None)))
        == 0
    )
    assert session.scalar(sa.select(sa.func.count()).where(BankGrant.revoked_at.isnot(None))) == 0
    other_bearer = {"Authorization": f"Bearer {other_bank.token['access_token']}"}
    assert app.test_client().get(SUMMARY, headers=other_bearer).status_code == 200
    assert not any(token.revoked_at for token in _tokens_of(session, other.client.id))
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "bank.client_disable")
    ).one()
    assert (entry.actor_id, entry.object_id) == (admin.id, str(registered.client.id))


def _tokens_of(session, client_pk: int) -> list[BankToken]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(
        session.scalars(
            sa.select(BankToken).join(BankGrant).where(BankGrant.client_id == client_pk)
        )
    )


def test_switching_back_on_revives_no_token_and_the_bank_asks_again(app, client, session):
    registered = register_bank(session)
    bank = _holder_with_tokens(app, client, session, registered)
    admin_client, _admin, csrf = _signed_in(app, session, Role.BUREAU_ADMIN)
    path = f"/api/v1/bureau/banks/{registered.client.id}"
    assert admin_client.patch(path, json={"is_active": False}, headers=csrf).status_code == 200
    # Asking again for the state it is in changes and records nothing.
    again = admin_client.patch(path, json={"is_active": False}, headers=csrf)
    assert again.status_code == 200
    stored = session.get(BankClient, registered.client.id)
    session.refresh(stored)
    disabled_at = stored.disabled_at

    on = admin_client.patch(path, json={"is_active": True}, headers=csrf)

    assert on.status_code == 200
    assert (on.get_json()["is_active"], on.get_json()["disabled_at"]) == (True, None)
    assert disabled_at is not None
    secret = registered.client_secret
    bearer = {"Authorization": f"Bearer {bank.token['access_token']}"}
    assert app.test_client().get(SUMMARY, headers=bearer).status_code == 401
    introspect = _introspect(app, registered, bank.token["access_token"], secret)
    assert introspect.get_json() == {"active": False}
    refresh = _refresh(app, registered, bank.token["refresh_token"], secret)
    assert (refresh.status_code, refresh.get_json()["error"]) == (400, "invalid_grant")
    fresh = tokens(app.test_client(), client, registered, "carbon.summary")
    assert fresh.get(f"http://localhost{SUMMARY}").status_code == 200
    assert _actions(session).count("bank.client_disable") == 1
    assert _actions(session).count("bank.client_enable") == 1


def test_a_holder_still_sees_a_switched_off_banks_grant_and_withdraws_it(app, client, session):
    registered = register_bank(session, name="宁夏绿色银行")
    _holder_with_tokens(app, client, session, registered)
    admin_client, _admin, _csrf = _signed_in(app, session, Role.BUREAU_ADMIN)
    csrf = csrf_token_from(admin_client, "/bureau/banks")
    switched = admin_client.post(
        f"/bureau/banks/{registered.client.id}/disable", data={"csrf_token": csrf}
    )
    assert switched.status_code == 303
    assert "已停用" in admin_client.get("/bureau/banks").get_data(as_text=True)

    (grant,) = client.get("/api/v1/me/authorised-apps").get_json()
    assert (grant["bank"], grant["bank_active"]) == ("宁夏绿色银行", False)
    html = client.get("/me/authorised-apps").get_data(as_text=True)
    assert "宁夏绿色银行" in html and "已被生态环境局停用" in html
    csrf = csrf_token_from(client, "/me/authorised-apps")
    withdrawn = client.post(f"/me/authorised-apps/{grant['id']}/revoke", data={"csrf_token": csrf})

    assert withdrawn.status_code == 303
    assert session.scalars(sa.select(BankGrant.revoked_at)).one() is not None
    assert client.get("/api/v1/me/authorised-apps").get_json() == []
    csrf = csrf_token_from(admin_client, "/bureau/banks")
    on = admin_client.post(
        f"/bureau/banks/{registered.client.id}/enable", data={"csrf_token": csrf}
    )
    assert on.status_code == 303
    assert session.scalar(sa.select(BankClient.disabled_at)) is None
    assert _actions(session)[-3:] == [
        "bank.client_disable",
        "bank.grant_revoke",
        "bank.client_enable",
    ]


def test_only_a_bureau_admin_rotates_or_switches_and_refusals_change_nothing(app, session):
    registered = register_bank(session)
    bank_id = registered.client.id
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    for role in (Role.RESIDENT, Role.MERCHANT_STAFF, Role.BUREAU_REVIEWER):
        caller, _user, csrf = _signed_in(app, session, role)
        page_csrf = {"csrf_token": csrf["X-CSRFToken"]}
        assert (
            caller.post(f"/api/v1/bureau/banks/{bank_id}/secret", headers=csrf).status_code == 403
        )
        patched = caller.patch(
            f"/api/v1/bureau/banks/{bank_id}", json={"is_active": False}, headers=csrf
        )
        assert patched.status_code == 403
        for action in ("secret", "disable", "enable"):
            assert (
                caller.post(f"/bureau/banks/{bank_id}/{action}", data=page_csrf).status_code == 403
            )
    anonymous = app.test_client()
    headers = {"X-CSRFToken": csrf_token_from(anonymous, "/sign-in")}
    assert (
        anonymous.post(f"/api/v1/bureau/banks/{bank_id}/secret", headers=headers).status_code == 401
    )
    patched = anonymous.patch(
        f"/api/v1/bureau/banks/{bank_id}", json={"is_active": False}, headers=headers
    )
    assert patched.status_code == 401
    for action in ("secret", "disable"):
        page = anonymous.post(
            f"/bureau/banks/{bank_id}/{action}", data={"csrf_token": headers["X-CSRFToken"]}
        )
        assert (page.status_code, "/sign-in" in page.headers["Location"]) == (302, True)
    stored = session.get(BankClient, bank_id)
    session.refresh(stored)
    assert stored.secret_hash == digest(registered.client_secret)
    assert stored.disabled_at is None
    actions = _actions(session)[before:]
    assert {"bank.client_secret_rotate", "bank.client_disable"}.isdisjoint(actions)


def test_an_unknown_or_impossible_bank_id_is_a_404_with_the_error_body(app, session):
    registered = register_bank(session)
    admin_client, _admin, headers = _signed_in(app, session, Role.BUREAU_ADMIN)
    for bank_id in (999_999, 2**63, 10**30):
        rotated = admin_client.post(f"/api/v1/bureau/banks/{bank_id}/secret", headers=headers)
        patched = admin_client.patch(
            f"/api/v1/bureau/banks/{bank_id}", json={"is_active": False}, headers=headers
        )
        for answer in (rotated, patched):
            assert answer.status_code == 404, (bank_id, answer.get_json())
            body = answer.get_json()
            assert body["code"] == 404 and body["message"]
    unknown = admin_client.post("/api/v1/bureau/banks/999999/secret", headers=headers).get_json()
    assert unknown["reason"] == "bank_not_found"
    csrf = csrf_token_from(admin_client, "/bureau/banks")
    assert (
        admin_client.post("/bureau/banks/999999/disable", data={"csrf_token": csrf}).status_code
        == 404
    )
    not_boolean = admin_client.patch(
        f"/api/v1/bureau/banks/{registered.client.id}", json={"is_active": "no"}, headers=headers
    )
    assert not_boolean.status_code == 422
    assert session.scalar(sa.select(BankClient.disabled_at)) is None
