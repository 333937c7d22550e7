"""Building the Daraja client from settings: callback URLs and the SecurityCredential."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from core.money import MINOR_UNITS
from payouts.errors import PayoutConfigError
from payouts.rails import (
    _BUILDERS,
    _PAYS,
    daraja_config,
    payable_currencies,
    rail_for,
    route_withdrawal,
)
from tests.conftest import make_settings

DARAJA = dict(
    payout_provider="daraja",
    mpesa_base_url="sandbox",
    mpesa_consumer_key="k",
    mpesa_consumer_secret="s",
    mpesa_shortcode="600000",
    mpesa_initiator_name="testapi",
    public_base_url="https://kazi.example.org",
    mpesa_webhook_token="t0k",
)


def certificate(tmp_path: Path) -> tuple[Path, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox.safaricom.co.ke")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "SandboxCertificate.cer"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key


def test_callback_urls_come_from_public_base_url_with_the_token() -> None:
    config = daraja_config(make_settings(**DARAJA, mpesa_security_credential="c2Vj"))
    assert config.base_url == "https://sandbox.safaricom.co.ke"
    base = "https://kazi.example.org/webhooks/payouts/b2c"
    assert config.result_url == f"{base}/result?token=t0k"
    assert config.timeout_url == f"{base}/timeout?token=t0k"
    assert config.query_result_url == f"{base}/result?token=t0k&kind=status"
    balance = daraja_config(make_settings(**DARAJA, mpesa_security_credential="c2Vj"), "balance")
    assert balance.query_result_url == f"{base}/result?token=t0k&kind=balance"
    assert config.security_credential == "c2Vj"


def test_the_security_credential_is_encrypted_from_the_password_and_certificate(
    tmp_path: Path,
) -> None:
    path, key = certificate(tmp_path)
    settings = make_settings(
        **DARAJA, mpesa_initiator_password="Safaricom999!*!", mpesa_cert_path=str(path)
    )
    credential = daraja_config(settings).security_credential
    plain = key.decrypt(base64.b64decode(credential), padding.PKCS1v15())
    assert plain == b"Safaricom999!*!"


def test_daraja_without_public_base_url_is_a_config_error() -> None:
    settings = make_settings(**{**DARAJA, "public_base_url": None}, mpesa_security_credential="x")
    with pytest.raises(PayoutConfigError, match="PUBLIC_BASE_URL"):
        daraja_config(settings)


def test_the_payable_currencies_are_what_the_rails_pay() -> None:
    daraja = make_settings(**{**DARAJA, "mpesa_security_credential": "c"})
    assert payable_currencies(daraja) == {"KES"}  # M-Pesa B2C pays KES only
    # The sandbox stands in for any rail, so the demo can pay UGX too.
    assert payable_currencies(make_settings()) == set(MINOR_UNITS)
    both = replace(
        daraja, payout_rails=(("UGX", "mtn_momo"),), momo_api_user="u", momo_api_key="k",
        momo_subscription_key="s",
    )  # fmt: skip
    assert payable_currencies(both) == {"KES", "UGX"}
    assert (rail_for(both, "UGX"), rail_for(both, "KES"), rail_for(both, "TZS")) == (
        "mtn_momo", "daraja", "daraja",
    )  # fmt: skip
    # MoMo pays its market's currency only: the sandbox market takes EUR, not UGX.
    assert payable_currencies(replace(both, momo_currency="EUR")) == {"KES"}


def test_every_rail_says_which_currencies_it_pays() -> None:
    assert set(_PAYS) == set(_BUILDERS)


def test_airtime_is_routed_when_chosen_or_below_the_minimum_only_where_configured() -> None:
    settings = make_settings(
        payout_airtime_limits=(("KES", 500, 50_000, 100_000),), at_username="u", at_api_key="k"
    )
    airtime = ("airtime", (500, 50_000, 100_000))

    def route(currency: str, amount: int | None, chosen: bool) -> tuple[str, tuple[int, ...]]:
        rail, limits = route_withdrawal(settings, currency, amount, airtime=chosen)
        return rail, (limits.minimum, limits.maximum, limits.daily_cap)

    assert route("KES", 5_000, True) == airtime  # the worker's choice
    assert route("KES", None, True) == airtime  # "all", as airtime
    assert route("KES", 800, False) == airtime  # below M-Pesa's KES 10
    assert route("KES", 5_000, False)[0] == "sandbox"  # mobile money by default
    assert route("UGX", 5_000, True)[0] == "sandbox"  # no airtime for UGX: mobile money
