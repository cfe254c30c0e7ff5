"""Partner signing secrets and identifier hashes: the two keyed secrets of ingestion.

A partner's Standard Webhooks secret must be usable to recompute an HMAC, so it cannot be kept as a
one-way hash like a password. It is sealed (:mod:`app.sealing`: AES-GCM under a key derived from
SECRET_KEY) with the public key id as associated data, so a ciphertext copied to another key's row
does not decrypt. A database dump alone therefore reveals no secret; rotating SECRET_KEY means
issuing partners new keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from app import sealing
from methodologies.kinds import IdentifierKind

_PURPOSE = b"tanpuhui partner secrets v1"


def new_key_id() -> str:
    """A public key id such as ``pk_3f9a1c0b7d2e4f60``."""
    return "pk_" + secrets.token_hex(8)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def encrypt_secret(secret_key: str, key_id: str, secret: str) -> str:
    return sealing.seal(secret_key, _PURPOSE, key_id, secret)


def decrypt_secret(secret_key: str, key_id: str, ciphertext: str) -> str:
    return sealing.unseal(secret_key, _PURPOSE, key_id, ciphertext)


def identifier_hash_key(configured: str | None, secret_key: str) -> bytes:
    """IDENTIFIER_HASH_KEY when set, else a key derived from SECRET_KEY for this one purpose."""
    if configured:
        return configured.encode()
    return sealing.derive_key(secret_key, b"tanpuhui identifier hashes v1")


def hash_identifier(key: bytes, kind: IdentifierKind, identifier: str) -> str:
    """The keyed hash stored and matched instead of the identifier itself, after the identifier
    kind's own normalisation (declared by its methodology)."""
    message = f"{kind.code}:{kind.normalise(identifier)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
