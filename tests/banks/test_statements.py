"""Signed carbon statements: a known-answer vector, what a statement covers, rotation with
overlap, offline verification, and tampering refused."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import sqlalchemy as sa
import time_machine
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app import clock
from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.banks import statements
from app.banks.cli import verify_statement
from app.banks.models import StatementKey
from app.filings import bundling
from app.reductions.models import ReductionStatus
from tests.banks.support import register_bank, tokens
from tests.factories import log_in, make_user
from tests.filings.support import SETTINGS, make_reduction, make_version, shanghai

#: RFC 8032 §7.1 test 1: the private key and the public key it gives.
RFC8032_PRIVATE = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
CLAIMS = {
    "iss": "https://tanpuhui.example",
    "sub": "participant:7",
    "iat": 1767225600,
    "total_g": 12345,
    "unit": "g CO2e",
}
EXPECTED = (
    "eyJhbGciOiJFZDI1NTE5Iiwia2lkIjoic3QtdGVzdCIsInR5cCI6IkpXVCJ9"
    ".eyJpYXQiOjE3NjcyMjU2MDAsImlzcyI6Imh0dHBzOi8vdGFucHVodWkuZXhhbXBsZSIsInN1YiI6InBhcnRpY2lwYW"
    "50OjciLCJ0b3RhbF9nIjoxMjM0NSwidW5pdCI6ImcgQ08yZSJ9"
    ".eB8D3feGKFhI9D3w1QcsbLt1mf4iGoirmPkp_YsrXLOFl81USv0OOFu2N068KanaiwQrV6RsrH1PPwbSlsHlCg"
)
PUBLIC_JWK = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "kid": "st-test",
    "use": "sig",
    "alg": "Ed25519",
}
PERIOD = {"from": "2026-10", "to": "2026-11"}


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_known_answer_vector():
    assert statements.sign_with(RFC8032_PRIVATE, "st-test", CLAIMS) == EXPECTED
    # The signature checks with the bare RFC 8032 public key, outside any JOSE library.
    header, payload, signature = EXPECTED.split(".")
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(RFC8032_PUBLIC)).verify(
        _b64(signature), f"{header}.{payload}".encode()
    )
    assert _b64(PUBLIC_JWK["x"]).hex() == RFC8032_PUBLIC
    assert statements.verify(EXPECTED, {"keys": [PUBLIC_JWK]}) == CLAIMS


def test_a_tampered_statement_or_an_unknown_key_is_refused():
    header, _payload, signature = EXPECTED.split(".")
    richer = dict(CLAIMS, total_g=99_999_999)
    forged_payload = base64.urlsafe_b64encode(
        json.dumps(richer, sort_keys=True, separators=(",", ":")).encode()
    ).rstrip(b"=")
    forged = f"{header}.{forged_payload.decode()}.{signature}"
    for bad in (forged, EXPECTED[:-2] + "AA", "not.a.statement", ""):
        try:
            statements.verify(bad, {"keys": [PUBLIC_JWK]})
            raise AssertionError(f"accepted {bad!r}")
        except statements.StatementInvalid:
            pass
    other = dict(PUBLIC_JWK, x=base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode())
    try:
        statements.verify(EXPECTED, {"keys": [other]})
        raise AssertionError("verified under another key")
    except statements.StatementInvalid:
        pass


def _holder_with_reductions(session):  # type: ignore[no-untyped-def]
    version = make_version(session)
    holder, other = make_user(session), make_user(session)
    october = make_reduction(session, version, holder, shanghai(2026, 10, 5, 8))
    make_reduction(session, version, holder, shanghai(2026, 11, 2, 8), km="3")
    make_reduction(
        session, version, holder, shanghai(2026, 11, 3, 8), status=ReductionStatus.PENDING
    )
    make_reduction(session, version, holder, shanghai(2026, 9, 30, 23, 59))  # before the period
    make_reduction(session, version, other, shanghai(2026, 10, 6, 8))
    session.commit()
    return holder, october


def test_a_statement_covers_only_verified_reductions_and_names_their_batches(app, client, session):
    holder, october = _holder_with_reductions(session)
    with time_machine.travel(shanghai(2026, 11, 10, 12), tick=False):
        bundling.bundle_due(session, SETTINGS, now=clock.now())  # October is bundled
    session.commit()
    with time_machine.travel(shanghai(2026, 12, 3, 9), tick=False):
        log_in(client, holder)
        answer = client.get("/api/v1/me/carbon-statement", query_string=PERIOD)
    assert answer.status_code == 200, answer.get_json()
    claims = answer.get_json()["claims"]
    assert claims["sub"] == f"participant:{holder.id}"
    assert claims["period"] == {"start": "2026-10-01", "end_exclusive": "2026-12-01"}
    assert [line["month"] for line in claims["lines"]] == ["2026-10", "2026-11"]
    assert sum(line["reductions"] for line in claims["lines"]) == 2  # the pending one is not
    assert claims["total_g"] == sum(line["g"] for line in claims["lines"])
    assert len(claims["filing_batches"]) == 1
    assert claims["filing_batches"][0]["g"] == october.reduction_g
    assert claims["not_yet_filed_g"] == claims["total_g"] - october.reduction_g
    assert "quantities" not in json.dumps(claims) and "distance" not in json.dumps(claims)
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert statements.verify(answer.get_json()["statement"], jwks) == claims


def test_a_period_is_whole_months_from_one_to_twenty_four(app, client, session):
    holder = make_user(session)
    session.commit()
    log_in(client, holder)
    ok = client.get(
        "/api/v1/me/carbon-statement", query_string={"from": "2025-01", "to": "2026-12"}
    )
    assert ok.status_code == 200
    for period in (
        {"from": "2024-12", "to": "2026-12"},  # 25 months
        {"from": "2026-02", "to": "2026-01"},
        {"from": "2026-13", "to": "2026-12"},
        {"from": "2026-01"},
        {"from": "0000-01", "to": "0000-01"},  # no year 0 on the calendar
        {"from": "1969-12", "to": "1970-01"},
        {"from": "9998-12", "to": "9999-01"},  # its end would run past year 9999
    ):
        answer = client.get("/api/v1/me/carbon-statement", query_string=period)
        assert answer.status_code == 422, period
        assert answer.get_json()["reason"] == "invalid_input"
    for period in ({"from": "1970-01", "to": "1970-01"}, {"from": "9998-12", "to": "9998-12"}):
        assert client.get("/api/v1/me/carbon-statement", query_string=period).status_code == 200


def test_rotation_keeps_the_old_key_published_for_the_overlap(app, client, session):
    holder = make_user(session)
    session.commit()
    log_in(client, holder)
    first = client.get("/api/v1/me/carbon-statement", query_string=PERIOD).get_json()["statement"]
    old_kid = statements.key_id(first)
    with app.app_context():
        statements.rotate(session, SYSTEM, now=clock.now(), overlap_days=90)
    session.commit()
    second = client.get("/api/v1/me/carbon-statement", query_string=PERIOD).get_json()["statement"]
    assert statements.key_id(second) != old_kid
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert {key["kid"] for key in jwks["keys"]} == {old_kid, statements.key_id(second)}
    statements.verify(first, jwks)
    statements.verify(second, jwks)
    with time_machine.travel(clock.now() + timedelta(days=91)):
        later = client.get("/.well-known/jwks.json").get_json()
    assert [key["kid"] for key in later["keys"]] == [statements.key_id(second)]
    stored = session.scalars(sa.select(StatementKey.private_key)).all()
    raw = session.execute(sa.text("SELECT private_key FROM statement_keys")).scalars().all()
    assert all(value.startswith("v1:") for value in raw) and all(len(k) == 64 for k in stored)
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "statement_key.rotate")
        )
        == 1
    )


def test_verify_statement_checks_a_saved_statement_offline(app, client, session, tmp_path):
    registered = register_bank(session)
    holder = make_user(session)
    session.commit()
    log_in(client, holder)
    bank = tokens(app.test_client(), client, registered, "carbon.statement")
    answer = bank.get("http://localhost/api/v1/consented/carbon-statement", params=PERIOD)
    assert answer.status_code == 200, answer.text
    (tmp_path / "statement.json").write_text(answer.text)
    (tmp_path / "jwks.json").write_text(client.get("/.well-known/jwks.json").get_data(as_text=True))
    runner = CliRunner()
    ok = runner.invoke(
        verify_statement, [str(tmp_path / "statement.json"), "--jwks", str(tmp_path / "jwks.json")]
    )
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.output and holder.display_name in ok.output
    compact = answer.json()["statement"]
    header, payload, signature = compact.split(".")
    claims = json.loads(_b64(payload))
    claims["total_g"] = 10**9
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    (tmp_path / "forged.jws").write_text(f"{header}.{forged}.{signature}")
    refused = runner.invoke(
        verify_statement, [str(tmp_path / "forged.jws"), "--jwks", str(tmp_path / "jwks.json")]
    )
    assert refused.exit_code == 1
    assert "NOT VALID" in refused.output
