"""A bank for the tests: Authlib's requests client talking to the app through its test client."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.audit.services import SYSTEM
from app.banks import services
from tests.factories import csrf_token_from

REDIRECT_URI = "https://bank.example/callback"
ALL_SCOPES = ["carbon.summary", "carbon.statement", "org.performance"]


class TestClientAdapter(requests.adapters.BaseAdapter):
    """Sends a requests call to the Flask app's test client instead of the network."""

    __test__ = False

    def __init__(self, client: FlaskClient) -> None:
        super().__init__()
        self.client = client

    def send(self, request, **_kwargs):  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        answer = self.client.open(
            parts.path,
            method=request.method,
            query_string=parts.query,
            headers=dict(request.headers),
            data=request.body,
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update(dict(answer.headers))
        response.raw = io.BytesIO(answer.get_data())
        response._content = answer.get_data()
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


def register_bank(session: Session, scopes: list[str] | None = None, name: str = "绿色银行"):  # type: ignore[no-untyped-def]
    registered = services.register_client(
        session, SYSTEM, name=name, redirect_uris=[REDIRECT_URI], scopes=scopes or ALL_SCOPES
    )
    session.commit()
    return registered


def bank_session(flask_client: FlaskClient, registered, scope: str) -> OAuth2Session:  # type: ignore[no-untyped-def]
    """Authlib's OAuth 2.0 client for the registered bank, wired to the app."""
    bank = OAuth2Session(
        registered.client.client_id,
        registered.client_secret,
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    bank.mount("http://localhost/", TestClientAdapter(flask_client))
    return bank


def authorize_url(bank: OAuth2Session) -> tuple[str, str]:
    """The consent page's address for a fresh PKCE verifier, and the verifier."""
    verifier = generate_token(48)
    url, _state = bank.create_authorization_url(
        "http://localhost/oauth/authorize", code_verifier=verifier
    )
    return url, verifier


def consent(resident_client: FlaskClient, url: str, decision: str = "allow") -> str:
    """The holder (already signed in) allows or refuses on the consent page; the bank's
    redirect URI with the code (or the error) is returned."""
    parts = urlsplit(url)
    page = f"{parts.path}?{parts.query}"
    token = csrf_token_from(resident_client, page)
    answer = resident_client.post(page, data={"csrf_token": token, "decision": decision})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer.headers["Location"]


def code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def tokens(flask_client: FlaskClient, resident_client: FlaskClient, registered, scope: str):  # type: ignore[no-untyped-def]
    """The whole flow: consent, then the code and verifier exchanged for tokens."""
    bank = bank_session(flask_client, registered, scope)
    url, verifier = authorize_url(bank)
    location = consent(resident_client, url)
    bank.fetch_token(
        "http://localhost/oauth/token", authorization_response=location, code_verifier=verifier
    )
    return bank
