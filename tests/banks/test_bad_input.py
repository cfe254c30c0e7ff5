"""Bad input refused as the standards say: wrong redirect URI, PKCE missing or wrong, scope beyond
the client's, expired or revoked tokens, another bank's token; nothing beyond the granted scope."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
import time_machine

from app import clock
from app.audit.models import AuditEntry
from app.banks.models import BankGrant, BankToken
from tests.banks.support import (
    REDIRECT_URI,
    authorize_url,
    bank_session,
    code_of,
    consent,
    register_bank,
    tokens,
)
from tests.factories import csrf_token_from, log_in, make_user

SUMMARY = "/api/v1/consented/carbon-summary"
STATEMENT = "/api/v1/consented/carbon-statement?from=2026-01&to=2026-06"


def _signed_in(client, session):  # type: ignore[no-untyped-def]
    holder = make_user(session)
    session.commit()
    log_in(client, holder)
    return holder


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


def _exchange(flask_client, registered, code, verifier=None, redirect_uri=REDIRECT_URI):  # type: ignore[no-untyped-def]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    return flask_client.post(
        "/oauth/token", data=form, auth=(registered.client.client_id, registered.client_secret)
    )


def test_a_wrong_redirect_uri_is_shown_to_the_holder_and_never_followed(app, client, session):
    registered = register_bank(session)
    _signed_in(client, session)
    url, _verifier = authorize_url(bank_session(app.test_client(), registered, "carbon.summary"))
    evil = url.replace("https%3A%2F%2Fbank.example%2Fcallback", "https%3A%2F%2Fevil.example%2Fcb")
    csrf = csrf_token_from(client, "/me/authorised-apps")
    form = {"csrf_token": csrf, "decision": "allow"}
    for page in (
        client.get(evil.removeprefix("http://localhost")),
        client.post(evil.removeprefix("http://localhost"), data=form),
    ):
        assert page.status_code == 400
        assert "Location" not in page.headers
        assert "银行提供的此链接无效" in page.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(BankGrant)) == 0


def test_pkce_is_required_and_must_match(app, client, session):
    registered = register_bank(session)
    _signed_in(client, session)
    bank = bank_session(app.test_client(), registered, "carbon.summary")
    # No challenge: refused at the bank's redirect URI, before any consent.
    plain_url, _state = bank.create_authorization_url("http://localhost/oauth/authorize")
    answer = client.get(plain_url.removeprefix("http://localhost"))
    assert answer.status_code == 302
    assert _query(answer.headers["Location"])["error"] == ["invalid_request"]
    plain = plain_url + "&code_challenge=abc&code_challenge_method=plain"
    answer = client.get(plain.removeprefix("http://localhost"))
    assert _query(answer.headers["Location"])["error"] == ["invalid_request"]
    # A code from a proper request, exchanged without the verifier, then with a wrong one.
    url, verifier = authorize_url(bank)
    code = code_of(consent(client, url))
    flask_client = app.test_client()
    missing = _exchange(flask_client, registered, code)
    assert (missing.status_code, missing.get_json()["error"]) == (400, "invalid_request")
    wrong = _exchange(flask_client, registered, code, verifier="x" * 48)
    assert (wrong.status_code, wrong.get_json()["error"]) == (400, "invalid_grant")
    assert session.scalar(sa.select(sa.func.count()).select_from(BankToken)) == 0
    right = _exchange(flask_client, registered, code, verifier=verifier)
    assert right.status_code == 200, right.get_json()


def test_a_code_sent_back_with_another_redirect_uri_is_refused(app, client, session):
    registered = register_bank(session)
    _signed_in(client, session)
    url, verifier = authorize_url(bank_session(app.test_client(), registered, "carbon.summary"))
    code = code_of(consent(client, url))
    answer = _exchange(
        app.test_client(), registered, code, verifier, redirect_uri="https://bank.example/other"
    )
    assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid_grant")


def test_scope_beyond_the_clients_is_refused(app, client, session):
    registered = register_bank(session, scopes=["carbon.summary"])
    _signed_in(client, session)
    for scope in ("carbon.summary carbon.statement", "carbon.everything"):
        url, _verifier = authorize_url(bank_session(app.test_client(), registered, scope))
        answer = client.get(url.removeprefix("http://localhost"))
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith(REDIRECT_URI)
        assert _query(answer.headers["Location"])["error"] == ["invalid_scope"]
    assert session.scalar(sa.select(sa.func.count()).select_from(BankGrant)) == 0


def test_a_token_reads_only_its_scope(app, client, session):
    registered = register_bank(session)
    _signed_in(client, session)
    bank = tokens(app.test_client(), client, registered, "carbon.summary")
    flask_client = app.test_client()
    auth = {"Authorization": f"Bearer {bank.token['access_token']}"}
    assert flask_client.get(SUMMARY, headers=auth).status_code == 200
    for path in (STATEMENT, "/api/v1/consented/organisation-performance"):
        refused = flask_client.get(path, headers=auth)
        assert refused.status_code == 403
        assert refused.get_json()["reason"] == "insufficient_scope"
        assert set(refused.get_json()) <= {"code", "status", "reason", "message"}
    # The holder's own API is not a bank's to call.
    assert flask_client.get("/api/v1/wallet", headers=auth).status_code == 401


def test_an_expired_access_token_is_refused_and_the_refresh_token_still_works(app, client, session):
    registered = register_bank(session)
    _signed_in(client, session)
    bank = tokens(app.test_client(), client, registered, "carbon.summary")
    auth = {"Authorization": f"Bearer {bank.token['access_token']}"}
    lifetime = app.config["OAUTH_ACCESS_TOKEN_SECONDS"]
    flask_client = app.test_client()
    with time_machine.travel(clock.now() + timedelta(seconds=lifetime - 5)):
        assert flask_client.get(SUMMARY, headers=auth).status_code == 200
    with time_machine.travel(clock.now() + timedelta(seconds=lifetime + 1)):
        late = flask_client.get(SUMMARY, headers=auth)
        assert late.status_code == 401
        assert late.get_json()["reason"] == "invalid_token"
        assert 'error="invalid_token"' in late.headers["WWW-Authenticate"]
        fresh = bank.refresh_token("http://localhost/oauth/token")
        renewed = {"Authorization": f"Bearer {fresh['access_token']}"}
        assert flask_client.get(SUMMARY, headers=renewed).status_code == 200


def test_another_banks_token_is_neither_introspected_revoked_nor_refreshed(app, client, session):
    first = register_bank(session, name="甲银行")
    second = register_bank(session, name="乙银行")
    _signed_in(client, session)
    bank = tokens(app.test_client(), client, first, "carbon.summary")
    flask_client = app.test_client()
    access, refresh = bank.token["access_token"], bank.token["refresh_token"]
    other_auth = (second.client.client_id, second.client_secret)
    seen = flask_client.post("/oauth/introspect", data={"token": access}, auth=other_auth)
    assert seen.status_code == 200 and seen.get_json() == {"active": False}
    own = flask_client.post(
        "/oauth/introspect",
        data={"token": access},
        auth=(first.client.client_id, first.client_secret),
    ).get_json()
    assert own["active"] is True and own["scope"] == "carbon.summary"
    assert own["client_id"] == first.client.client_id
    revoked = flask_client.post("/oauth/revoke", data={"token": access}, auth=other_auth)
    assert revoked.status_code == 400
    stolen = flask_client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=other_auth,
    )
    assert (stolen.status_code, stolen.get_json()["error"]) == (400, "invalid_grant")
    wrong_secret = flask_client.post(
        "/oauth/introspect", data={"token": access}, auth=(first.client.client_id, "guess")
    )
    assert (wrong_secret.status_code, wrong_secret.get_json()["error"]) == (401, "invalid_client")
    assert (
        flask_client.get(SUMMARY, headers={"Authorization": f"Bearer {access}"}).status_code == 200
    )


def test_a_bank_revokes_its_own_token_rfc7009(app, client, session):
    registered = register_bank(session)
    _signed_in(client, session)
    bank = tokens(app.test_client(), client, registered, "carbon.summary")
    flask_client = app.test_client()
    auth = (registered.client.client_id, registered.client_secret)
    answer = flask_client.post(
        "/oauth/revoke",
        data={"token": bank.token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=auth,
    )
    assert answer.status_code == 200
    bearer = {"Authorization": f"Bearer {bank.token['access_token']}"}
    assert flask_client.get(SUMMARY, headers=bearer).status_code == 401
    introspected = flask_client.post(
        "/oauth/introspect", data={"token": bank.token["access_token"]}, auth=auth
    )
    assert introspected.get_json() == {"active": False}
    assert (
        session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "bank.token_revoke"))
        == 1
    )
    # An unknown token is answered 200 too (RFC 7009 §2.2), and nothing changes.
    assert flask_client.post("/oauth/revoke", data={"token": "nope"}, auth=auth).status_code == 200
