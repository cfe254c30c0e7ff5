"""Signed carbon statements: a participant's verified reductions for a period, as a JWS.

Compact JWS, ``alg`` Ed25519 (RFC 9864: EdDSA over Ed25519), ``typ`` JWT, the key named by
``kid``; the payload is JSON with sorted keys, so the same claims and key always give the same
statement. The public keys are
published at ``/.well-known/jwks.json``; a rotation retires the signing key but keeps it
published for STATEMENT_KEY_OVERLAP_DAYS, so statements it signed still verify. Anyone verifies
offline with the JWKS and any JOSE library (``tanpuhui verify-statement``).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.audit.services import Actor
from app.banks.carbon import StatementBody
from app.banks.models import StatementKey

ALGORITHM = "Ed25519"  # RFC 9864: EdDSA over Ed25519, fully specified
TYPE = "JWT"


class StatementInvalid(ValueError):
    """The statement does not verify: tampered, unknown key, or not a statement at all."""


def _public_jwk(private: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    key = OKPKey.import_key(private)
    return {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": ALGORITHM}


def new_key(session: Session, now: datetime) -> StatementKey:
    private = Ed25519PrivateKey.generate()
    kid = "st-" + now.strftime("%Y%m%d") + "-" + secrets.token_hex(4)
    key = StatementKey(
        kid=kid,
        public_jwk=_public_jwk(private, kid),
        private_key=private.private_bytes_raw().hex(),
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key


def signing_key(session: Session, now: datetime) -> StatementKey:
    """The newest key still signing; the first one is made on first use."""
    key = session.scalar(
        sa.select(StatementKey)
        .where(StatementKey.retired_at.is_(None))
        .order_by(StatementKey.id.desc())
        .limit(1)
    )
    return key if key is not None else new_key(session, now)


def rotate(session: Session, actor: Actor, *, now: datetime, overlap_days: int) -> StatementKey:
    """A new key signs from now on; the keys before it stay published for the overlap (audited)."""
    retired = list(
        session.scalars(
            sa.select(StatementKey).where(StatementKey.retired_at.is_(None)).with_for_update()
        )
    )
    for key in retired:
        key.retired_at = now
        key.published_until = now + timedelta(days=overlap_days)
    key = new_key(session, now)
    audit.record(
        session, actor, "statement_key.rotate", "statement_key", key.kid,
        {"retired": [old.kid for old in retired], "overlap_days": overlap_days},
    )  # fmt: skip
    return key


def jwks(session: Session, now: datetime) -> dict[str, Any]:
    """Every key a valid statement may name: the signing key and those within their overlap."""
    keys = session.scalars(sa.select(StatementKey).order_by(StatementKey.id.desc()))
    return {"keys": [key.public_jwk for key in keys if key.is_published(now)]}


def claims_for(
    body: StatementBody,
    *,
    issuer: str,
    holder_id: int,
    holder_name: str,
    holder_role: str,
    issued_at: datetime,
) -> dict[str, Any]:
    """The statement's claims: grams of verified reductions, and the batches that hold them."""
    return {
        "iss": issuer,
        "sub": f"participant:{holder_id}",
        "iat": int(issued_at.timestamp()),
        "holder": {"name": holder_name, "role": holder_role},
        "period": {
            "start": body.period_start.isoformat(),
            "end_exclusive": body.period_end.isoformat(),
        },
        "unit": "g CO2e",
        "covers": "verified reductions only",
        "total_g": body.total_g,
        "lines": [
            {"month": x.month, "kind": x.activity_kind, "reductions": x.reductions, "g": x.grams}
            for x in body.lines
        ],
        "filing_batches": [
            {
                "serial": b.serial,
                "methodology": b.methodology,
                "period_start": b.period_start.isoformat(),
                "root_hash": b.root_hash,
                "g": b.grams,
            }
            for b in body.batches
        ],
        "not_yet_filed_g": body.not_yet_filed_g,
    }


def sign_with(private_hex: str, kid: str, claims: dict[str, Any]) -> str:
    """The compact JWS of ``claims`` under one Ed25519 key (deterministic)."""
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    payload = json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    header = {"alg": ALGORITHM, "kid": kid, "typ": TYPE}
    return jws.serialize_compact(
        header, payload.encode(), OKPKey.import_key(private), algorithms=[ALGORITHM]
    )


def sign(session: Session, claims: dict[str, Any], now: datetime) -> str:
    key = signing_key(session, now)
    return sign_with(key.private_key, key.kid, claims)


def verify(statement: str, key_set: dict[str, Any]) -> dict[str, Any]:
    """The claims of a statement that verifies under one of ``key_set``'s keys (a JWKS)."""
    try:
        keys = KeySet.import_key_set(key_set)
        verified = jws.deserialize_compact(statement.strip(), keys, algorithms=[ALGORITHM])
        claims = json.loads(verified.payload)
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise StatementInvalid(f"the statement does not verify: {type(error).__name__}") from error
    if verified.headers().get("typ") != TYPE or not isinstance(claims, dict):
        raise StatementInvalid("not a carbon statement")
    return claims


def key_id(statement: str) -> str:
    """The ``kid`` a statement names (read, not verified)."""
    try:
        return str(jws.extract_compact(statement.strip().encode()).headers().get("kid", ""))
    except (JoseError, ValueError) as error:
        raise StatementInvalid("not a compact JWS") from error


def from_file(text: str) -> str:
    """A statement as saved: the compact JWS, or the API's JSON answer holding it."""
    text = text.strip()
    if not text.startswith("{"):
        return text
    try:
        document = json.loads(text)
    except ValueError as error:
        raise StatementInvalid("neither a compact JWS nor JSON") from error
    if not isinstance(document, dict) or not isinstance(document.get("statement"), str):
        raise StatementInvalid("the JSON holds no statement")
    return str(document["statement"])
