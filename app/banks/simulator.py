"""A bank played against a running platform over HTTP, with Authlib's OAuth 2.0 client.

It registers (as the bureau's admin) or uses a registered client, sends a resident through the
consent page (signing in as them, as their browser would), exchanges the code with its PKCE
verifier, reads the carbon summary and a statement, refreshes its token (rotation) and verifies
the statement against the published keys. It can also listen on a local port for the webhooks
the platform sends the bank (a revoked grant, a redeemed reward) and check their signatures.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from standardwebhooks import Webhook, WebhookVerificationError
from standardwebhooks.webhooks import EmptyWebhookSecretError

from app.banks import statements

#: The bank's redirect URI: never served, the simulator reads the code from the redirect itself.
REDIRECT_URI = "http://127.0.0.1/bank-callback"
SCOPES = "carbon.summary carbon.statement"
#: The demo bank `tanpuhui seed-demo` registers, with published credentials (local use only):
#: registering through the API takes a bureau admin's second factor, which a script does not have.
DEMO_CLIENT_ID = "bank_demo"
DEMO_CLIENT_SECRET = "demo-bank-secret-2026"  # noqa: S105
TIMEOUT = 10
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


class SimulationFailed(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class BankCredentials:
    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class Outcome:
    balance: int
    months_with_reductions: int
    statement_total_g: int
    batches: list[str]
    kid: str


def _checked(response: requests.Response, what: str) -> requests.Response:
    if response.status_code >= 400:
        raise SimulationFailed(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response


def _resident_consents(url: str, authorize_url: str, mobile: str, password: str) -> str:
    """The resident signs in and allows on the consent page; the redirect to the bank."""
    browser = requests.Session()
    page = _checked(browser.get(f"{url}/sign-in", timeout=TIMEOUT), "opening sign-in").text
    csrf = _CSRF.search(page)
    form = {"mobile": mobile, "password": password, "csrf_token": csrf.group(1) if csrf else ""}
    signed_in = browser.post(f"{url}/sign-in", data=form, allow_redirects=False, timeout=TIMEOUT)
    if signed_in.status_code != 302:
        raise SimulationFailed("the resident could not sign in")
    consent_page = _checked(browser.get(authorize_url, timeout=TIMEOUT), "the consent page").text
    csrf = _CSRF.search(consent_page)
    decision = browser.post(
        authorize_url,
        data={"decision": "allow", "csrf_token": csrf.group(1) if csrf else ""},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    location = decision.headers.get("Location", "")
    if decision.status_code != 302 or "code" not in parse_qs(urlsplit(location).query):
        raise SimulationFailed(f"consent gave no code: {decision.status_code} {location}")
    return location


def run(
    url: str,
    credentials: BankCredentials,
    *,
    resident_mobile: str,
    resident_password: str,
    period: tuple[date, date],
    say: Callable[[str], None],
) -> Outcome:
    """The whole visit of one bank; each step is told through ``say``."""
    bank = OAuth2Session(
        credentials.client_id,
        credentials.client_secret,
        scope=SCOPES,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    authorize_url, _state = bank.create_authorization_url(
        f"{url}/oauth/authorize", code_verifier=verifier
    )
    location = _resident_consents(url, authorize_url, resident_mobile, resident_password)
    say("the resident allowed the bank on the consent page")
    bank.fetch_token(f"{url}/oauth/token", authorization_response=location, code_verifier=verifier)
    say(f"tokens issued (access token for {bank.token['expires_in']} s, refresh token rotates)")
    summary = _checked(bank.get(f"{url}/api/v1/consented/carbon-summary"), "summary").json()
    say(f"summary: {summary['balance']} points")
    bank.refresh_token(f"{url}/oauth/token")
    say("refreshed: a new token pair, the old refresh token is spent")
    start, last = period
    answer = _checked(
        bank.get(
            f"{url}/api/v1/consented/carbon-statement",
            params={"from": start.strftime("%Y-%m"), "to": last.strftime("%Y-%m")},
        ),
        "statement",
    ).json()
    jwks = _checked(requests.get(f"{url}/.well-known/jwks.json", timeout=TIMEOUT), "JWKS").json()
    claims = statements.verify(answer["statement"], jwks)
    kid = statements.key_id(answer["statement"])
    say(f"statement verified with key {kid}: {claims['total_g']} g CO2e")
    return Outcome(
        balance=summary["balance"],
        months_with_reductions=sum(1 for month in summary["months"] if month["grams"]),
        statement_total_g=claims["total_g"],
        batches=[batch["serial"] for batch in claims["filing_batches"]],
        kid=kid,
    )


@dataclass
class WebhookInbox:
    """What the bank's endpoint received: verified payloads, and how many it refused."""

    webhook: Webhook
    verified: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes, headers: dict[str, str]) -> bool:
        """Verify one delivery (Standard Webhooks); keep its payload when the signature holds."""
        try:
            payload = self.webhook.verify(body, headers)
        except (WebhookVerificationError, ValueError):
            with self.lock:
                self.refused += 1
            return False
        with self.lock:
            self.verified.append(payload)
        return True


def _webhook_handler(inbox: WebhookInbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {key.lower(): value for key, value in self.headers.items()}
            # 2xx acknowledges; a bad signature is answered 400 (the platform retries it).
            self.send_response(204 if inbox.take(body, headers) else 400)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving_webhooks(port: int, secret: str) -> Iterator[WebhookInbox]:
    """Listen on 127.0.0.1:``port`` for the bank's webhooks, signed with ``secret`` (whsec_…).

    A secret that is no Standard Webhooks secret raises ``ValueError`` before anything listens.
    """
    try:
        if not secret.startswith("whsec_"):
            raise EmptyWebhookSecretError(secret)
        inbox = WebhookInbox(Webhook(secret))
    except (EmptyWebhookSecretError, ValueError) as error:
        raise ValueError("the webhook secret must be the endpoint's whsec_… secret") from error
    server = ThreadingHTTPServer(("127.0.0.1", port), _webhook_handler(inbox))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
