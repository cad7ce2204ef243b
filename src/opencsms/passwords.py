"""Hashing and checking of station Basic-auth passwords (security profile 1).

OCPP station passwords are 16-40 character machine secrets (1.6 security whitepaper §2.2, 2.0.1
``SecurityCtrlr.BasicAuthPassword``), not human passwords: they have enough entropy that a slow
password KDF buys nothing, while a reconnect storm must check thousands of them within seconds. We
therefore use a salted SHA-256 and compare in constant time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets

_SCHEME = "sha256"
MIN_PASSWORD_LENGTH = 16
MAX_PASSWORD_LENGTH = 40
MAX_HEX_KEY_BYTES = MAX_PASSWORD_LENGTH // 2
"""A 1.6 AuthorizationKey is at most 20 bytes, written as up to 40 hex digits (A00.FR.205)."""


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
    """Split an ``Authorization: Basic ...`` header into (username, password); None if malformed
    (or when the password is not UTF-8: see :func:`parse_basic_credentials`)."""
    credentials = parse_basic_credentials(header)
    if credentials is None:
        return None
    username, raw = credentials
    try:
        return username, raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_basic_credentials(header: str | None) -> tuple[str, bytes] | None:
    """Split an ``Authorization: Basic ...`` header into (username, password bytes); None if
    malformed. The password stays bytes: a 1.6 station may send its AuthorizationKey decoded
    from hex, i.e. binary (see :func:`password_candidates`)."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except ValueError:  # binascii.Error, and a non-ASCII token (fuzzing)
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    try:
        username = user.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return username, password


def password_candidates(raw: bytes, *, ocpp16: bool) -> list[str]:
    """The passwords a Basic-auth password of ``raw`` bytes may stand for.

    The text itself (UTF-8), always. For a 1.6 station also its hex form: the whitepaper sets
    AuthorizationKey as "randomly generated binary ... hexadecimal represented (20 bytes
    maximum, represented as a string of up to 40 hexadecimal digits)" (A00.FR.205, §7.2) and
    does not say which form goes into the header. Field firmwares differ: most send the hex
    text, some the decoded 16-20 bytes. Both stand for the same key, so both are accepted
    (lower- and upper-case hex, as the CSMS does not know how the key was written). 2.0.1
    settles it (BasicAuthPassword "SHALL be sent as a UTF-8 encoded string (NOT encoded into
    octet string or base64)"), so a 2.0.1 station only gets the text form.
    """
    candidates: list[str] = []
    with contextlib.suppress(UnicodeDecodeError):
        candidates.append(raw.decode("utf-8"))
    if ocpp16 and MIN_PASSWORD_LENGTH <= len(raw) <= MAX_HEX_KEY_BYTES:
        candidates += [raw.hex(), raw.hex().upper()]
    return candidates
