"""Passwords, opaque tokens and their hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_ph = PasswordHasher()
# Verifying against this keeps the time of an unknown-username login equal to a wrong password.
_DUMMY_HASH = _ph.hash(secrets.token_urlsafe(16))

TOKEN_PREFIX = "mst_"  # noqa: S105 - public prefix of token strings


def hash_password(password: str) -> str:
    return _ph.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _ph.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_api_token() -> tuple[str, str]:
    """Returns (secret shown once, short prefix kept for display)."""
    prefix = secrets.token_hex(4)
    return f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", f"{TOKEN_PREFIX}{prefix}"


def new_opaque() -> str:
    return secrets.token_urlsafe(32)
