"""The authorization code flow with PKCE, driven by Authlib's own client against the app."""

from __future__ import annotations

import sqlalchemy as sa
from authlib.integrations.requests_client import OAuthError

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.banks.models import BankAuthorizationCode, BankGrant, BankToken
from tests.banks.support import (
    authorize_url,
    bank_session,
    code_of,
    consent,
    register_bank,
    tokens,
)
from tests.factories import log_in, make_user

TOKEN_URL = "http://localhost/oauth/token"
SUMMARY_URL = "http://localhost/api/v1/consented/carbon-summary"


def _resident(client, session, role=Role.RESIDENT):  # type: ignore[no-untyped-def]
    holder = make_user(session, role)
    session.commit()
    log_in(client, holder)
    return holder


def test_a_bank_gets_tokens_with_consent_and_reads_the_summary(app, client, session):
    registered = register_bank(session)
    holder = _resident(client, session)
    bank = tokens(app.test_client(), client, registered, "carbon.summary")

    token = bank.token
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] == app.config["OAUTH_ACCESS_TOKEN_SECONDS"]
    assert token["scope"] == "carbon.summary"
    answer = bank.get(SUMMARY_URL)
    assert answer.status_code == 200, answer.text
    assert answer.json()["balance"] == 0
    assert len(answer.json()["months"]) == 12
    grant = session.scalars(sa.select(BankGrant)).one()
    assert (grant.user_id, grant.scopes) == (holder.id, ["carbon.summary"])
    stored = session.scalars(sa.select(BankToken)).one()
    assert token["access_token"] not in {stored.access_token_hash, stored.refresh_token_hash}
    actions = set(session.scalars(sa.select(AuditEntry.action)))
    assert {"bank.client_register", "bank.grant"} <= actions


def test_the_consent_page_names_the_bank_what_it_sees_and_for_how_long(app, client, session):
    registered = register_bank(session, name="宁夏绿色银行")
    _resident(client, session)
    url, _verifier = authorize_url(bank_session(app.test_client(), registered, "carbon.summary"))
    page = client.get(url.removeprefix("http://localhost"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "宁夏绿色银行" in html
    assert "积分余额" in html  # what it will see, in Chinese
    assert "180" in html  # for how long
    assert "https://bank.example" in page.headers["Content-Security-Policy"]
    assert session.scalar(sa.select(sa.func.count()).select_from(BankGrant)) == 0


def test_refresh_tokens_rotate_and_the_old_one_is_refused(app, client, session):
    registered = register_bank(session)
    _resident(client, session)
    bank = tokens(app.test_client(), client, registered, "carbon.summary")
    first = dict(bank.token)
    second = bank.refresh_token(TOKEN_URL, refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    try:
        bank.refresh_token(TOKEN_URL, refresh_token=first["refresh_token"])
        raise AssertionError("a used refresh token was accepted")
    except OAuthError as error:
        assert error.error == "invalid_grant"
    # The old access token went with its refresh token; the new one works.
    old = app.test_client().get(
        SUMMARY_URL, headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert old.status_code == 401
    assert old.get_json()["reason"] == "invalid_token"
    assert old.headers["WWW-Authenticate"].startswith("Bearer")
    assert bank.get(SUMMARY_URL).status_code == 200


def test_a_refused_consent_sends_access_denied_and_grants_nothing(app, client, session):
    registered = register_bank(session)
    _resident(client, session)
    url, _verifier = authorize_url(bank_session(app.test_client(), registered, "carbon.summary"))
    location = consent(client, url, decision="deny")
    assert location.startswith("https://bank.example/callback?")
    assert "error=access_denied" in location
    assert session.scalar(sa.select(sa.func.count()).select_from(BankGrant)) == 0
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "bank.consent_refused")
        )
        == 1
    )


def test_an_organisation_grants_performance_and_a_resident_cannot(app, client, session):
    registered = register_bank(session)
    _resident(client, session, Role.ORGANISATION)
    bank = tokens(app.test_client(), client, registered, "org.performance")
    answer = bank.get("http://localhost/api/v1/consented/organisation-performance")
    assert answer.status_code == 200, answer.text
    assert answer.json()["trend_percent"] is None
    resident_client = app.test_client()
    _resident(resident_client, session)
    url, _verifier = authorize_url(bank_session(app.test_client(), registered, "org.performance"))
    page = resident_client.get(url.removeprefix("http://localhost"))
    assert "不能分享" in page.get_data(as_text=True) or page.status_code == 200
    location = consent(resident_client, url)
    assert "error=access_denied" in location
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(BankGrant)
            .where(BankGrant.client_id == registered.client.id)
        )
        == 1
    )


def test_a_code_is_exchanged_once_and_a_second_try_revokes_the_tokens(app, client, session):
    registered = register_bank(session)
    _resident(client, session)
    flask_client = app.test_client()
    bank = bank_session(flask_client, registered, "carbon.summary")
    url, verifier = authorize_url(bank)
    location = consent(client, url)
    bank.fetch_token(TOKEN_URL, authorization_response=location, code_verifier=verifier)
    assert bank.get(SUMMARY_URL).status_code == 200
    again = flask_client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code_of(location),
            "redirect_uri": "https://bank.example/callback",
            "code_verifier": verifier,
        },
        auth=(registered.client.client_id, registered.client_secret),
    )
    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"
    assert bank.get(SUMMARY_URL).status_code == 401
    code = session.scalars(sa.select(BankAuthorizationCode)).one()
    assert code.used_at is not None


def test_the_consent_page_speaks_english_too(app, client, session):
    registered = register_bank(session, name="Ningxia Green Bank")
    _resident(client, session)
    client.get("/language/en")
    url, _verifier = authorize_url(bank_session(app.test_client(), registered, "carbon.statement"))
    html = client.get(url.removeprefix("http://localhost")).get_data(as_text=True)
    assert "Allow Ningxia Green Bank to read your carbon record?" in html
    assert "no trip details" in html
    assert "For 180 days, until" in html
