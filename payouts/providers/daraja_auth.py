"""Daraja credentials: the shared OAuth token and the encrypted SecurityCredential.

Daraja issues one valid token per app at a time: minting a new one invalidates the
old, so if every web and rq process fetched its own they would knock each other's
tokens out mid-payment. One token therefore lives in the shared KeyValueStore, and
a short lock (``set_if_absent``) lets exactly one process fetch a replacement.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.kvstore import KeyValueStore
from payouts.errors import PayoutConfigError, ProviderAuthError

#: Fetch a token: returns (access_token, lifetime in seconds).
TokenFetcher = Callable[[], tuple[str, float]]


def fetch_token(
    session: requests.Session,
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    timeout: tuple[float, float],
) -> tuple[str, float]:
    """Mint a new client-credentials token (this invalidates the previous one)."""
    url = f"{base_url}/oauth/v1/generate"
    try:
        response = session.get(
            url,
            params={"grant_type": "client_credentials"},
            auth=(consumer_key, consumer_secret),
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise ProviderAuthError(f"Daraja OAuth unreachable: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        code = body.get("errorCode") if isinstance(body, dict) else None
        raise ProviderAuthError(f"Daraja OAuth refused: HTTP {response.status_code} {code or ''}")
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ProviderAuthError("Daraja OAuth answer has no access_token")
    # Documented as a number, sent as a string by older versions: accept both.
    try:
        lifetime = float(body.get("expires_in", 3599))
    except (TypeError, ValueError):
        raise ProviderAuthError(f"bad expires_in {body.get('expires_in')!r}") from None
    return token, lifetime


class TokenCache:
    """One OAuth token shared by every process through the KeyValueStore (any rail's:
    ``prefix`` names the rail in the store's keys)."""

    def __init__(
        self,
        store: KeyValueStore,
        fetch: TokenFetcher,
        *,
        namespace: str,
        prefix: str = "daraja",
        refresh_margin: float = 120.0,
        lock_ttl: float = 30.0,
        wait_seconds: float = 20.0,
        poll_seconds: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._fetch = fetch
        # Hashed so the consumer key never appears in Redis key listings.
        digest = hashlib.sha256(namespace.encode()).hexdigest()[:16]
        self._key = f"{prefix}:token:{digest}"
        self._lock_key = f"{prefix}:token-lock:{digest}"
        self._margin = refresh_margin
        self._lock_ttl = lock_ttl
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._sleep = sleep
        self._clock = clock

    def get(self) -> str:
        """The current shared token, fetching one if none is cached."""
        cached = self._store.get(self._key)
        return cached.decode() if cached is not None else self._replace(stale=None)

    def refresh(self, stale: str) -> str:
        """Replace a token Daraja refused, unless another process already did."""
        return self._replace(stale=stale)

    def _current(self, stale: str | None) -> str | None:
        cached = self._store.get(self._key)
        if cached is None or cached.decode() == stale:
            return None
        return cached.decode()

    def _replace(self, stale: str | None) -> str:
        deadline = self._clock() + self._wait
        me = secrets.token_hex(8).encode()
        while True:
            if self._store.set_if_absent(self._lock_key, me, self._lock_ttl):
                try:
                    return self._current(stale) or self._fetch_and_store()
                finally:
                    # Only release our own lock: if it expired, another holder owns it now.
                    if self._store.get(self._lock_key) == me:
                        self._store.delete(self._lock_key)
            # Another process is fetching: minting our own would invalidate theirs.
            token = self._current(stale)
            if token is not None:
                return token
            if self._clock() >= deadline:
                raise ProviderAuthError("timed out waiting for another process's Daraja token")
            self._sleep(self._poll)

    def _fetch_and_store(self) -> str:
        token, lifetime = self._fetch()
        # Expire it from the cache shortly before Daraja does, so no request carries a
        # token that dies in flight; never less than a few seconds.
        self._store.set(self._key, token.encode(), max(lifetime - self._margin, 5.0))
        return token


def build_security_credential(password: str, certificate: bytes) -> str:
    """Encrypt the initiator password with Safaricom's certificate (RSA PKCS#1 v1.5, base64)."""
    cert = _load_certificate(certificate)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise PayoutConfigError("the M-Pesa certificate does not hold an RSA key")
    # PKCS#1 v1.5, not OAEP: Daraja answers 2001 to anything else.
    return base64.b64encode(key.encrypt(password.encode(), padding.PKCS1v15())).decode()


def resolve_security_credential(
    credential: str | None, password: str | None, cert_path: str | Path | None
) -> str:
    """The SecurityCredential from settings, or built from the password and certificate."""
    if credential:
        return credential
    if not password or not cert_path:
        raise PayoutConfigError(
            "set MPESA_SECURITY_CREDENTIAL, or MPESA_INITIATOR_PASSWORD with MPESA_CERT_PATH"
        )
    try:
        pem_or_der = Path(cert_path).read_bytes()
    except OSError as exc:
        raise PayoutConfigError(f"MPESA_CERT_PATH unreadable: {exc}") from exc
    return build_security_credential(password, pem_or_der)


def _load_certificate(data: bytes) -> x509.Certificate:
    """Safaricom ships .cer files; accept PEM or DER."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise PayoutConfigError(f"MPESA certificate unreadable: {exc}") from exc
