"""The API document is the contract: schemathesis drives every operation it declares, as every
kind of caller, and every answer must match the document.

Checks: no server error, a documented status code, content type and body, invalid data refused,
and the links the document declares followed (stateful phase). The run is bounded: a fixed number
of examples per operation, derandomized (the same cases every run), and a time budget per caller
after which the run stops and the test fails, saying so. It runs on SQLite only: on PostgreSQL
the same cases take about twice as long and reach the same code (the contract is the web edge's,
the backends differ below it and have their own tests).
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from schemathesis import engine as st_engine
from schemathesis.engine import events
from werkzeug.test import Client

from app.accounts import services as accounts
from app.accounts.roles import Role
from app.db import db
from tests.activities.support import (
    STATUS_URL,
    approve_methodologies,
    make_partner,
    signed_headers,
)
from tests.conftest import TestDatabase, create_test_database, drop_test_database, make_app
from tests.factories import make_user

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
#: Generated examples per operation in the fuzzing phase (the coverage phase adds its own
#: boundary cases, the stateful phase follows the declared links).
MAX_EXAMPLES = 5
STATEFUL_STEPS = 5
#: Seconds one caller's run may take before it stops and the test fails. A bound on the suite's
#: time, not a check of the app's speed: a run takes a few seconds.
TIME_BUDGET_SECONDS = 90


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role | None
    #: The operations this caller's run drives (a regular expression on the path).
    paths: str
    merchant_role: str | None = None


CALLERS = [
    Caller("anonymous", None, "^/api/v1/"),
    Caller(
        "resident",
        Role.RESIDENT,
        "^/api/v1/(me|wallet|offers|statistics|methodologies|auth|residents)",
    ),
    Caller("organisation", Role.ORGANISATION, "^/api/v1/(organisation|me$|organisations)"),
    Caller("merchant manager", Role.MERCHANT_STAFF, "^/api/v1/merchant", "manager"),
    Caller("cashier", Role.MERCHANT_STAFF, "^/api/v1/merchant", "cashier"),
    Caller("bureau reviewer", Role.BUREAU_REVIEWER, "^/api/v1/(bureau|filings)"),
    Caller("bureau admin", Role.BUREAU_ADMIN, "^/api/v1/(bureau|filings)"),
    Caller("verifier", Role.VERIFIER, "^/api/v1/(bureau|filings)"),
    Caller("data partner", None, "^/api/v1/partner"),
]


#: The backend the contract runs on (``TANPUHUI_CONTRACT_BACKEND=postgresql`` to compare).
BACKEND = os.environ.get("TANPUHUI_CONTRACT_BACKEND", "sqlite")


@pytest.fixture(scope="module")
def contract_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    database = create_test_database(BACKEND, tmp_path_factory.mktemp("contract"))
    yield database
    drop_test_database(database)


@pytest.fixture(scope="module")
def contract_app(contract_database: TestDatabase) -> Flask:
    app = make_app(contract_database)
    with app.app_context():
        approve_methodologies(app, db.session)
    return app


def _bearer(app: Flask, caller: Caller) -> dict[str, str]:
    with app.app_context():
        extra = {"merchant_role": caller.merchant_role} if caller.merchant_role else {}
        user = make_user(db.session, caller.role, **extra)
        token, _expires = accounts.issue_api_token(db.session, user, lifetime_seconds=3600)
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _signing(app: Flask) -> Callable[..., Any]:
    """The app behind a partner's signing step, over the exact bytes schemathesis sends.

    The document declares the key and the signature as security headers: schemathesis sends
    placeholders, replaced here by the partner's key and a valid signature. A header it leaves
    out (a negative case) stays out, and the request must be refused.
    """
    with app.app_context():
        key = make_partner(app, db.session, ["bus_ride", "metro_ride", "bike_trip"])

    def signed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        headers = signed_headers(key, body)
        for name in ("X-Partner-Key", "webhook-id", "webhook-timestamp", "webhook-signature"):
            variable = "HTTP_" + name.upper().replace("-", "_")
            if variable in environ or name in ("webhook-id", "webhook-timestamp"):
                environ[variable] = headers[name]
        return app.wsgi_app(environ, start_response)

    return signed


def _config(headers: dict[str, str]) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 18,
            "continue-on-failure": True,
            "cache": {"enabled": False},
            "headers": headers,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {"stateful": {"max-steps": STATEFUL_STEPS}},
        }
    )


def _run(app: Flask, caller: Caller) -> tuple[list[str], int]:
    """Every failure of one caller's run, readable, and how many cases it sent."""
    wsgi: Any = app
    headers: dict[str, str] = {}
    if caller.name == "data partner":
        wsgi = _signing(app)
    elif caller.role is not None:
        headers = _bearer(app, caller)
    _assert_signed_in(app, wsgi, caller, headers)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi, config=_config(headers))
    schema = schema.include(path_regex=caller.paths)
    if caller.role is not None:
        # Revoking its own token would leave the rest of the run anonymous (run as anonymous).
        schema = schema.exclude(path="/api/v1/auth/tokens/current")
        schema = schema.exclude(path="/api/v1/me/tokens/{token_id}", method="DELETE")
    failures: list[str] = []
    cases = 0
    started = time.monotonic()
    engine = st_engine.from_schema(schema)
    for event in engine.execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            failures.extend(_failures(event))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"{caller.name}: error {event.info.format()[:2000]}")
        if time.monotonic() - started > TIME_BUDGET_SECONDS:
            failures.append(f"{caller.name}: stopped after {TIME_BUDGET_SECONDS} s")
            break
    return failures, cases


def _assert_signed_in(app: Flask, wsgi: Any, caller: Caller, headers: dict[str, str]) -> None:
    """The run is as the caller it names: its credentials are accepted before it starts."""
    if caller.name == "data partner":
        client = Client(wsgi)
        body = json.dumps({"external_ids": ["probe"]})
        placeholders = {"X-Partner-Key": "key", "webhook-signature": "signature"}
        response = client.post(
            STATUS_URL, data=body, content_type="application/json", headers=placeholders
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    elif caller.role is not None:
        response = app.test_client().get("/api/v1/me", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)


def _failures(event: events.ScenarioFinished) -> Iterator[str]:
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            case = event.recorder.cases[case_id].value
            failure = check.failure_info.failure
            yield (
                f"{check.name} on {case.method} {case.formatted_path} "
                f"query={case.query} body={str(case.body)[:300]}: "
                f"{failure.title}: {str(failure.message)[:1500]}"
            )


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@pytest.mark.parametrize("caller", CALLERS, ids=[caller.name for caller in CALLERS])
def test_the_api_keeps_its_document(contract_app: Flask, caller: Caller) -> None:
    started = time.monotonic()
    failures, cases = _run(contract_app, caller)
    print(f"{caller.name}: {cases} cases in {time.monotonic() - started:.1f} s")
    assert cases > 0
    assert not failures, "\n".join(dict.fromkeys(failures))
