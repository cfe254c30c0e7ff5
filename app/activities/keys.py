"""Partner signing secrets and identifier hashes: the two keyed secrets of ingestion.

A partner's Standard Webhooks secret must be usable to recompute an HMAC, so it cannot be kept as a
one-way hash like a password. It is kept encrypted with AES-GCM under a key derived (HKDF-SHA256)
from the application's SECRET_KEY, with the public key id as associated data so a ciphertext copied
to another key's row does not decrypt. A database dump alone therefore reveals no secret; rotating
SECRET_KEY means issuing partners new keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from methodologies.kinds import IdentifierKind

_CIPHER_VERSION = "v1"


def new_key_id() -> str:
    """A public key id such as ``pk_3f9a1c0b7d2e4f60``."""
    return "pk_" + secrets.token_hex(8)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@lru_cache(maxsize=8)
def _derive(secret_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )


def encrypt_secret(secret_key: str, key_id: str, secret: str) -> str:
    nonce = os.urandom(12)
    box = AESGCM(_derive(secret_key, b"tanpuhui partner secrets v1"))
    sealed = box.encrypt(nonce, secret.encode(), key_id.encode())
    return f"{_CIPHER_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt_secret(secret_key: str, key_id: str, ciphertext: str) -> str:
    version, _, payload = ciphertext.partition(":")
    if version != _CIPHER_VERSION:
        raise ValueError(f"unknown secret cipher version {version!r}")
    raw = base64.b64decode(payload)
    box = AESGCM(_derive(secret_key, b"tanpuhui partner secrets v1"))
    return box.decrypt(raw[:12], raw[12:], key_id.encode()).decode()


def identifier_hash_key(configured: str | None, secret_key: str) -> bytes:
    """IDENTIFIER_HASH_KEY when set, else a key derived from SECRET_KEY for this one purpose."""
    if configured:
        return configured.encode()
    return _derive(secret_key, b"tanpuhui identifier hashes v1")


def hash_identifier(key: bytes, kind: IdentifierKind, identifier: str) -> str:
    """The keyed hash stored and matched instead of the identifier itself, after the identifier
    kind's own normalisation (declared by its methodology)."""
    message = f"{kind.code}:{kind.normalise(identifier)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
