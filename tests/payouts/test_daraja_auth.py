"""SecurityCredential encryption and the shared token cache, without the network."""

from __future__ import annotations

import base64
import datetime as dt
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from core.kvstore import MemoryStore
from payouts.errors import PayoutConfigError, ProviderAuthError
from payouts.providers.base import CallbackKind, PayoutRequest, ResultStatus
from payouts.providers.daraja_auth import (
    TokenCache,
    build_security_credential,
    resolve_security_credential,
)


@pytest.fixture(scope="module")
def key_and_cert() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A throwaway RSA key and a self-signed certificate standing in for Safaricom's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apicrypt.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_security_credential_decrypts_to_the_password(key_and_cert, encoding):
    key, cert = key_and_cert
    credential = build_security_credential("Safaricom999!*!", cert.public_bytes(encoding))
    ciphertext = base64.b64decode(credential, validate=True)
    assert len(ciphertext) == 256  # one RSA-2048 block
    assert key.decrypt(ciphertext, padding.PKCS1v15()) == b"Safaricom999!*!"


def test_security_credential_is_pkcs1_v15_not_oaep(key_and_cert):
    key, cert = key_and_cert
    credential = build_security_credential("pw", cert.public_bytes(serialization.Encoding.PEM))
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    with pytest.raises(ValueError):
        key.decrypt(base64.b64decode(credential), oaep)


def test_resolve_prefers_a_given_credential_then_builds_from_the_certificate(
    key_and_cert, tmp_path
):
    key, cert = key_and_cert
    assert resolve_security_credential("given==", "pw", "/nonexistent") == "given=="
    path = tmp_path / "ProductionCertificate.cer"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    built = resolve_security_credential(None, "pw", path)
    assert key.decrypt(base64.b64decode(built), padding.PKCS1v15()) == b"pw"


@pytest.mark.parametrize(
    ("password", "cert_path"), [(None, "x.cer"), ("pw", None), ("pw", "/nonexistent.cer")]
)
def test_resolve_without_usable_settings_is_a_config_error(password, cert_path):
    with pytest.raises(PayoutConfigError):
        resolve_security_credential(None, password, cert_path)


def test_garbage_certificate_is_a_config_error():
    with pytest.raises(PayoutConfigError):
        build_security_credential("pw", b"not a certificate")


def test_the_client_credential_reaches_daraja_decryptable(key_and_cert, make_client, emulator):
    key, cert = key_and_cert
    credential = build_security_credential("right", cert.public_bytes(serialization.Encoding.PEM))
    make_client(security_credential=credential).query_balance()
    (sent,) = emulator.received("/mpesa/accountbalance/v1/query")
    assert (
        key.decrypt(base64.b64decode(sent.body["SecurityCredential"]), padding.PKCS1v15())
        == b"right"
    )


class _Fetcher:
    def __init__(self, lifetime: float = 3599) -> None:
        self.calls = 0
        self.lifetime = lifetime

    def __call__(self) -> tuple[str, float]:
        self.calls += 1
        return f"token-{self.calls}", self.lifetime


def test_refresh_replaces_a_stale_token_once():
    store, fetch = MemoryStore(), _Fetcher()
    cache = TokenCache(store, fetch, namespace="n")
    stale = cache.get()
    fresh = cache.refresh(stale)
    assert fresh != stale
    # A second process that saw the same stale token reuses the fresh one.
    other = TokenCache(store, fetch, namespace="n")
    assert other.refresh(stale) == fresh
    assert fetch.calls == 2


def test_a_waiter_reads_the_token_another_process_fetched():
    store, fetch = MemoryStore(), _Fetcher()
    store.set_if_absent(TokenCache(store, fetch, namespace="n")._lock_key, b"other", 30)
    cache = TokenCache(store, fetch, namespace="n", poll_seconds=0.01)

    def other_process_finishes() -> None:
        store.set(cache._key, b"theirs", 100)

    timer = threading.Timer(0.05, other_process_finishes)
    timer.start()
    assert cache.get() == "theirs"
    timer.join()
    assert fetch.calls == 0  # it never minted its own, which would have killed theirs


def test_a_waiter_gives_up_when_the_lock_holder_never_delivers():
    store, fetch = MemoryStore(), _Fetcher()
    cache = TokenCache(store, fetch, namespace="n", wait_seconds=0.1, poll_seconds=0.01)
    store.set_if_absent(cache._lock_key, b"other", 30)
    with pytest.raises(ProviderAuthError):
        cache.get()
    assert fetch.calls == 0


def test_namespaces_keep_apart_different_credentials():
    store, fetch = MemoryStore(), _Fetcher()
    assert (
        TokenCache(store, fetch, namespace="sandbox|a").get()
        != TokenCache(store, fetch, namespace="prod|b").get()
    )


def test_the_lock_is_released_after_a_failed_fetch():
    store = MemoryStore()

    def failing() -> tuple[str, float]:
        raise ProviderAuthError("down")

    cache = TokenCache(store, failing, namespace="n")
    with pytest.raises(ProviderAuthError):
        cache.get()
    assert store.get(cache._lock_key) is None


def test_a_wrong_initiator_password_comes_back_as_2001(
    key_and_cert, make_client, emulator, recorder
):
    key, cert = key_and_cert
    emulator.check_credential = (
        lambda c: key.decrypt(base64.b64decode(c), padding.PKCS1v15()) == b"right"
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    client = make_client(security_credential=build_security_credential("wrong", pem))
    client.submit(PayoutRequest("p-cred", "+254711000111", 5000, "KES"))
    outcome = client.parse_callback(CallbackKind.RESULT, recorder.wait_for(1)[0].body)
    assert outcome.code == "2001"
    assert outcome.status is ResultStatus.FAILED
