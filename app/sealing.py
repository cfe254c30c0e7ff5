"""Secrets the platform must be able to read back, kept sealed (AES-GCM) in the database.

A secret that is used, not only checked (a partner's webhook secret, a merchant's voucher key),
cannot be stored as a one-way hash like a password. It is sealed with AES-GCM under a key derived
(HKDF-SHA256) from the application's SECRET_KEY for one purpose, with associated data that binds
the ciphertext to its row, so a database dump alone reveals no secret and a ciphertext copied to
another row does not open. Rotating SECRET_KEY means re-sealing (or re-issuing) these secrets.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, has_app_context

CIPHER_VERSION = "v1"
#: Room for a sealed 64-character secret: "v1:" and base64 of nonce, text and tag (127).
SEALED_LENGTH = 160


@lru_cache(maxsize=16)
def derive_key(secret_key: str, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, derived from SECRET_KEY."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )


def seal(secret_key: str, purpose: bytes, associated: str, plaintext: str) -> str:
    """``v1:<base64(nonce + ciphertext)>``."""
    nonce = os.urandom(12)
    sealed = AESGCM(derive_key(secret_key, purpose)).encrypt(
        nonce, plaintext.encode(), associated.encode()
    )
    return f"{CIPHER_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def is_sealed(value: str) -> bool:
    return value.startswith(CIPHER_VERSION + ":")


def unseal(secret_key: str, purpose: bytes, associated: str, ciphertext: str) -> str:
    """The plaintext; ``ValueError`` for an unknown format, ``InvalidTag`` for a wrong key."""
    version, _, payload = ciphertext.partition(":")
    if version != CIPHER_VERSION:
        raise ValueError(f"unknown secret cipher version {version!r}")
    raw = base64.b64decode(payload)
    box = AESGCM(derive_key(secret_key, purpose))
    return box.decrypt(raw[:12], raw[12:], associated.encode()).decode()


class SealedString(sa.types.TypeDecorator[str]):
    """A column holding a secret sealed under the running application's SECRET_KEY.

    Values go in and come out as plain text; the table holds only ``v1:…`` ciphertext. The key is
    the current application's; outside an application context (a script's or a test's own
    session), the key of the application built last in this process (:func:`use_key`).
    """

    impl = sa.String(SEALED_LENGTH)
    cache_ok = True

    def __init__(self, purpose: bytes) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        return seal(_app_secret_key(), self.purpose, "", value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        return unseal(_app_secret_key(), self.purpose, "", value)


_fallback_key: list[str] = []


def use_key(secret_key: str) -> None:
    """The key sealed columns use outside an application context (``create_app`` sets it)."""
    _fallback_key[:] = [secret_key]


def _app_secret_key() -> str:
    if has_app_context():
        return str(current_app.config["SECRET_KEY"])
    if not _fallback_key:
        raise RuntimeError("sealed columns need an application: call create_app first")
    return _fallback_key[0]
