"""Hashing and checking of station Basic-auth passwords (security profile 1).

OCPP station passwords are 16-40 character machine secrets (1.6 security whitepaper §2.2, 2.0.1
``SecurityCtrlr.BasicAuthPassword``), not human passwords: they have enough entropy that a slow
password KDF buys nothing, while a reconnect storm must check thousands of them within seconds. We
therefore use a salted SHA-256 and compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCHEME = "sha256"
MIN_PASSWORD_LENGTH = 16
MAX_PASSWORD_LENGTH = 40


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return ``sha256$<salt hex>$<digest hex>`` for ``password``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.sha256(salt + password.encode("utf-8")).hexdigest()
    return f"{_SCHEME}${salt.hex()}${digest}"


def verify_password(password: str, stored: str) -> bool:
    """Check ``password`` against a hash made by :func:`hash_password`, in constant time."""
    try:
        scheme, salt_hex, digest_hex = stored.split("$", 2)
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    if scheme != _SCHEME:
        return False
    candidate = hashlib.sha256(salt + password.encode("utf-8")).hexdigest()
    return hmac.compare_digest(candidate, digest_hex)


def parse_basic_authorization(header: str | None) -> tuple[str, str] | None:
    """Split an ``Authorization: Basic ...`` header into (username, password); None if malformed."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and a non-ASCII token (fuzzing)
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password
