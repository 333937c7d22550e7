"""Settings: typed defaults, `.env` files, and one clear line naming each bad setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import REPO_ROOT, Settings, SettingsError

NO_DOTENV = "/nonexistent/.env"
DARAJA = {
    "PAYOUT_PROVIDER": "daraja",
    "MPESA_CONSUMER_KEY": "k",
    "MPESA_CONSUMER_SECRET": "s",
    "MPESA_SHORTCODE": "600000",
    "MPESA_INITIATOR_NAME": "testapi",
    "MPESA_SECURITY_CREDENTIAL": "c2VjcmV0",
}
PRODUCTION = {
    "KAZI_ENV": "production",
    "SECRET_KEY": "x" * 40,
    "PUBLIC_BASE_URL": "https://kazi.example.org",
    "AT_WEBHOOK_TOKEN": "at-token",
}


def load(env: dict[str, str]) -> Settings:
    return Settings.from_env(environ=env, dotenv_path=NO_DOTENV)


def test_empty_environment_is_the_embedded_default() -> None:
    settings = load({})
    assert settings.embedded
    assert settings.sqlalchemy_url.startswith("sqlite:///")
    assert settings.sqlalchemy_url.endswith("instance/kazi.db")
    assert (settings.sms_provider, settings.payout_provider) == ("console", "sandbox")
    assert not settings.is_production


def test_database_url_as_users_write_it_gets_the_psycopg_driver() -> None:
    settings = load({"DATABASE_URL": "postgresql://kazi:p%40ss@db.internal:5433/kazi"})
    assert settings.sqlalchemy_url == "postgresql+psycopg://kazi:p%40ss@db.internal:5433/kazi"
    assert load({"DATABASE_URL": "postgres://u@h/d"}).sqlalchemy_url == "postgresql+psycopg://u@h/d"


def test_complete_production_settings_are_accepted() -> None:
    settings = load(
        {**PRODUCTION, **DARAJA, "MPESA_WEBHOOK_TOKEN": "t", "REDIS_URL": "redis://r:6379/0"}
    )
    assert settings.is_production and not settings.embedded
    assert settings.public_base_url == "https://kazi.example.org"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL: cannot parse"),
        ({"DATABASE_URL": "mysql://u@h/d"}, "DATABASE_URL: unsupported database 'mysql'"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL: expected a redis:// URL"),
        ({"KAZI_ENV": "staging"}, "KAZI_ENV: expected one of development, production, test"),
        ({"SMS_PROVIDER": "nexmo"}, "SMS_PROVIDER: expected one of console, africastalking"),
        ({"SMS_RATE_PER_SECOND": "fast"}, "SMS_RATE_PER_SECOND: expected a number"),
        ({"SMS_RATE_PER_SECOND": "0"}, "SMS_RATE_PER_SECOND: must be greater than 0"),
        ({"PUBLIC_BASE_URL": "kazi.example.org"}, "PUBLIC_BASE_URL: expected an http(s) URL"),
        ({"DEFAULT_COUNTRY": "Kenya"}, "DEFAULT_COUNTRY: expected a two-letter country code"),
        ({"CONSOLE_TIMEZONE": "Mars/Olympus"}, "CONSOLE_TIMEZONE: expected an IANA time zone"),
        ({"SIMULATOR_NUMBERS": "0700000001"}, "SIMULATOR_NUMBERS: expected E.164 numbers"),
        (
            {"SMS_PROVIDER": "africastalking"},
            "AT_USERNAME: required with SMS_PROVIDER=africastalking",
        ),
        (
            {"SMS_PROVIDER": "africastalking", "AT_USERNAME": "sandbox"},
            "AT_API_KEY: required with SMS_PROVIDER=africastalking",
        ),
        ({"SMS_PROVIDER": "twilio"}, "TWILIO_ACCOUNT_SID: required with SMS_PROVIDER=twilio"),
        ({"PAYOUT_PROVIDER": "daraja"}, "MPESA_CONSUMER_KEY: required with PAYOUT_PROVIDER=daraja"),
        (
            {**DARAJA, "MPESA_SECURITY_CREDENTIAL": ""},
            "MPESA_SECURITY_CREDENTIAL: required with PAYOUT_PROVIDER=daraja",
        ),
        (
            {**DARAJA, "MPESA_CERT_PATH": "/nonexistent/cert.cer"},
            "MPESA_CERT_PATH: no certificate file at /nonexistent/cert.cer",
        ),
        ({**PRODUCTION, "SECRET_KEY": ""}, "SECRET_KEY: required in production"),
        ({**PRODUCTION, "SECRET_KEY": "short"}, "SECRET_KEY: must be at least 32 characters"),
        ({**PRODUCTION, "PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL: required in production"),
        ({**PRODUCTION, "AT_WEBHOOK_TOKEN": ""}, "AT_WEBHOOK_TOKEN: required in production"),
        ({**PRODUCTION, **DARAJA}, "MPESA_WEBHOOK_TOKEN: required in production"),
        ({"FUNDING_MAKER_CHECKER": "maybe"}, "FUNDING_MAKER_CHECKER: expected true or false"),
    ],
)
def test_each_bad_setting_is_named_in_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load(env)
    text = str(raised.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_dotenv_fills_in_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "SMS_PROVIDER=twilio\nTWILIO_ACCOUNT_SID=AC1\nTWILIO_AUTH_TOKEN=t\n"
        "TWILIO_FROM_NUMBER=+15005550006\nUSSD_SERVICE_CODE=*384*99#\n"
    )
    settings = Settings.from_env(environ={"SMS_PROVIDER": "console"}, dotenv_path=dotenv)
    assert settings.ussd_service_code == "*384*99#"
    assert settings.sms_provider == "console"
    assert settings.twilio_account_sid == "AC1"


def test_start_up_with_a_bad_setting_exits_with_one_line() -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KAZI_", "DATABASE_", "REDIS_"))
    }
    env["DATABASE_URL"] = "mysql://u@h/d"
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "kazi: configuration error: DATABASE_URL: unsupported database 'mysql'; "
        "use postgresql or sqlite"
    ]


def test_twilio_needs_a_from_number_or_a_messaging_service() -> None:
    base = {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}
    with pytest.raises(SettingsError, match="TWILIO_FROM_NUMBER: required"):
        Settings.from_env(environ=base, dotenv_path="/nonexistent")
    settings = Settings.from_env(
        environ={**base, "TWILIO_MESSAGING_SERVICE_SID": "MG1"}, dotenv_path="/nonexistent"
    )
    assert settings.twilio_messaging_service_sid == "MG1"


def test_simulator_numbers_are_a_comma_separated_list() -> None:
    assert load({"SIMULATOR_NUMBERS": " +254700000001, +254700000002 ,"}).simulator_numbers == (
        "+254700000001",
        "+254700000002",
    )
    assert load({}).simulator_numbers == ()


def test_maker_checker_on_deposits_is_off_unless_switched_on() -> None:
    assert load({}).funding_maker_checker is False
    assert load({"FUNDING_MAKER_CHECKER": "on"}).funding_maker_checker is True


def test_webhook_allowed_hosts_are_read_and_a_bad_network_is_named() -> None:
    settings = Settings.from_env({"WEBHOOK_ALLOWED_HOSTS": " Hooks.internal, 10.0.0.0/8 ,"})
    assert settings.webhook_allowed_hosts == ("hooks.internal", "10.0.0.0/8")
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOWED_HOSTS"):
        Settings.from_env({"WEBHOOK_ALLOWED_HOSTS": "10.0.0.0/99"})
    with pytest.raises(SettingsError, match="USSD_HOPS_PER_MINUTE"):
        Settings.from_env({"USSD_HOPS_PER_MINUTE": "-1"})
