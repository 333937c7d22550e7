"""Secrets Kazi hands out (API keys, passwords) and the hashes it keeps instead."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from werkzeug.security import check_password_hash, generate_password_hash

API_KEY_PREFIX = "kz_"
#: The signing key of a deployment without SECRET_KEY (the embedded default and tests;
#: production refuses to start without one, see config.settings).
DEV_SECRET_KEY = "dev-only-not-secret"


@dataclass(frozen=True)
class IssuedApiKey:
    """A new API key: the key is shown once; only prefix and hash are stored."""

    key: str
    prefix: str
    hash: str


def issue_api_key() -> IssuedApiKey:
    """A new random API key with what to store about it."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return IssuedApiKey(key=key, prefix=key[:10], hash=hash_api_key(key))


def hash_api_key(key: str) -> str:
    """SHA-256 of a key; keys are long and random, so a fast hash is safe and allows lookup."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_password() -> str:
    """A random password for a new console login."""
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    """A salted, slow hash for a password or PIN."""
    return generate_password_hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    return check_password_hash(stored_hash, password)


def tokens_equal(given: str | None, expected: str | None) -> bool:
    """Compare webhook tokens in constant time; a missing token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def keyed_digest(text: str, key: str | None) -> str:
    """HMAC-SHA256 of ``text`` under the deployment's secret key, in hex.

    What Kazi keeps instead of a text that may hold a secret but must still be
    recognised later (the inputs of a USSD session): without the key, a four-digit PIN
    could be found from a plain hash by trying all 10,000 of them.
    """
    mac = hmac.new((key or DEV_SECRET_KEY).encode(), text.encode(), hashlib.sha256)
    return mac.hexdigest()
