"""Kazi's settings: read once from the environment (and a `.env` file), typed, validated.

Every field has a committed default that runs the embedded default (SQLite file,
in-process job runner and session store, console SMS and sandbox payouts). A bad
or missing required value raises ``SettingsError`` whose message is one line that
names the setting, so start-up fails with something a deployer can act on.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = REPO_ROOT / "instance" / "kazi.db"

ENVIRONMENTS = ("development", "production", "test")
SMS_PROVIDERS = ("console", "africastalking", "twilio")
PAYOUT_PROVIDERS = ("sandbox", "daraja", "mtn_momo", "airtime")
LANGUAGES = ("en", "sw", "fr")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it in one line."""


def _text(name: str, raw: str) -> str:
    return raw.strip()


def _optional_text(name: str, raw: str) -> str | None:
    return raw.strip() or None


def _time_zone(name: str, raw: str) -> str | None:
    # An IANA zone name (https://docs.python.org/3/library/zoneinfo.html); None: the
    # default country's zone, worked out by whoever shows times (core/localtime.py).
    value = raw.strip()
    if not value:
        return None
    try:
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise SettingsError(
            f"{name}: expected an IANA time zone such as Africa/Nairobi, got {raw!r}"
        ) from None
    return value


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None


def _number(name: str, raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None


def _boolean(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def coerce(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise SettingsError(f"{name}: expected one of {', '.join(allowed)}, got {raw!r}")
        return value

    return coerce


def _http_url(name: str, raw: str) -> str | None:
    value = raw.strip().rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}: expected an http(s) URL such as https://kazi.example.org")
    return value


def _redis_url(name: str, raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"{name}: expected a redis:// URL, got {raw!r}")
    return value


def _database_url(name: str, raw: str) -> str | None:
    return normalise_database_url(raw.strip(), setting=name) if raw.strip() else None


def normalise_database_url(raw: str, *, setting: str = "DATABASE_URL") -> str:
    """Turn a URL as users write it (postgresql://, postgres://, sqlite:///) into a driver URL."""
    try:
        url: URL = make_url(raw)
    except ArgumentError:
        raise SettingsError(
            f"{setting}: cannot parse {raw!r}; expected e.g. postgresql://user@host/db "
            "or sqlite:///path/to/kazi.db"
        ) from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise SettingsError(
            f"{setting}: unsupported database {backend!r}; use postgresql or sqlite"
        )
    return url.render_as_string(hide_password=False)


def _wage_floors(name: str, raw: str) -> tuple[tuple[str, int], ...]:
    floors = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        country, _, amount = item.partition(":")
        if len(country.strip()) != 2 or not amount.strip().isdigit():
            raise SettingsError(f"{name}: expected e.g. KE:12500,UG:2500, got {item!r}")
        floors.append((country.strip().upper(), int(amount)))
    return tuple(floors)


def _day_list(name: str, raw: str) -> tuple[int, ...]:
    days = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        if not item.isdigit() or int(item) <= 0:
            raise SettingsError(
                f"{name}: expected days after registration, e.g. 90,180, got {item!r}"
            )
        days.append(int(item))
    return tuple(sorted(set(days)))


def _currency_amounts(name: str, raw: str) -> tuple[tuple[str, int], ...]:
    amounts = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        currency, _, amount = (p.strip() for p in item.partition(":"))
        if len(currency) != 3 or not currency.isalpha() or not amount.isdigit():
            raise SettingsError(
                f"{name}: expected e.g. KES:2000,UGX:500 in minor units, got {item!r}"
            )
        amounts.append((currency.upper(), int(amount)))
    return tuple(amounts)


def _payout_rails(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    rails = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        currency, _, rail = (p.strip() for p in item.partition(":"))
        if len(currency) != 3 or not currency.isalpha() or rail.lower() not in PAYOUT_PROVIDERS:
            raise SettingsError(
                f"{name}: expected e.g. KES:daraja,UGX:mtn_momo (rails: "
                f"{', '.join(PAYOUT_PROVIDERS)}), got {item!r}"
            )
        rails.append((currency.upper(), rail.lower()))
    return tuple(rails)


def _currency_limits(name: str, raw: str) -> tuple[tuple[str, int, int, int], ...]:
    limits = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        parts = [p.strip() for p in item.split(":")]
        if len(parts) != 4 or len(parts[0]) != 3 or not all(p.isdigit() for p in parts[1:]):
            raise SettingsError(
                f"{name}: expected CUR:min:max:daily_cap, e.g. UGX:500:5000000:10000000, got {item!r}"
            )
        minimum, maximum, cap = (int(p) for p in parts[1:])
        if not 0 < minimum <= maximum <= cap:
            raise SettingsError(f"{name}: {parts[0]} needs 0 < min <= max <= daily cap")
        limits.append((parts[0].upper(), minimum, maximum, cap))
    return tuple(limits)


def _phone_numbers(name: str, raw: str) -> tuple[str, ...]:
    numbers = tuple(filter(None, (part.strip() for part in raw.split(","))))
    for number in numbers:
        if not (number.startswith("+") and number[1:].isdigit() and 7 <= len(number) <= 16):
            raise SettingsError(
                f"{name}: expected E.164 numbers such as +254700000001, got {number!r}"
            )
    return numbers


def _host_list(name: str, raw: str) -> tuple[str, ...]:
    hosts = tuple(filter(None, (part.strip().lower() for part in raw.split(","))))
    for host in hosts:
        try:
            if "/" in host:
                ipaddress.ip_network(host, strict=False)
        except ValueError:
            raise SettingsError(f"{name}: {host!r} is not a network such as 10.0.0.0/8") from None
    return hosts


def _setting(env: str, coerce: Callable[[str, str], Any], default: Any = None) -> Any:
    return field(default=default, metadata={"env": env, "coerce": coerce})


@dataclass(frozen=True)
class Settings:
    """All of Kazi's configuration; build with ``Settings.from_env()`` or directly in tests."""

    env: str = _setting("KAZI_ENV", _choice(*ENVIRONMENTS), "development")
    database_url: str | None = _setting("DATABASE_URL", _database_url)
    redis_url: str | None = _setting("REDIS_URL", _redis_url)
    secret_key: str | None = _setting("SECRET_KEY", _optional_text)
    public_base_url: str | None = _setting("PUBLIC_BASE_URL", _http_url)
    log_level: str = _setting("LOG_LEVEL", _choice("debug", "info", "warning", "error"), "info")
    default_country: str = _setting("DEFAULT_COUNTRY", _text, "KE")
    # The zone the console's times and charts are shown in (default: DEFAULT_COUNTRY's).
    console_timezone: str | None = _setting("CONSOLE_TIMEZONE", _time_zone)
    default_language: str = _setting("DEFAULT_LANGUAGE", _choice(*LANGUAGES), "en")
    ussd_service_code: str = _setting("USSD_SERVICE_CODE", _text, "*384*12#")

    sms_provider: str = _setting("SMS_PROVIDER", _choice(*SMS_PROVIDERS), "console")
    sms_sender_id: str | None = _setting("SMS_SENDER_ID", _optional_text)
    sms_rate_per_second: float = _setting("SMS_RATE_PER_SECOND", _number, 10.0)
    # The console provider plays a network: prices each send and posts a delivery report
    # (mostly delivered, some failed) to its webhook, so the demo shows real-looking traffic.
    console_sms_reports: bool = _setting("CONSOLE_SMS_REPORTS", _boolean, False)
    # Flood limits per phone number (0 switches one off): far above what a person does.
    ussd_hops_per_minute: int = _setting("USSD_HOPS_PER_MINUTE", _integer, 30)
    sms_inbound_per_minute: int = _setting("SMS_INBOUND_PER_MINUTE", _integer, 20)
    # Failed console sign-ins per client address in 15 minutes, whatever the email.
    login_failures_per_ip: int = _setting("LOGIN_FAILURES_PER_IP", _integer, 20)
    # Work record look-ups (/verify/<code>) per client address per minute: an employer
    # checks a few; a script guessing codes is held to this (0 switches it off).
    verify_lookups_per_minute: int = _setting("VERIFY_LOOKUPS_PER_MINUTE", _integer, 10)
    at_username: str | None = _setting("AT_USERNAME", _optional_text)
    at_api_key: str | None = _setting("AT_API_KEY", _optional_text)
    at_webhook_token: str | None = _setting("AT_WEBHOOK_TOKEN", _optional_text)
    # Another host for AT's airtime API (a local emulator); none: the SDK's own.
    at_airtime_base_url: str | None = _setting("AT_AIRTIME_BASE_URL", _http_url)
    twilio_account_sid: str | None = _setting("TWILIO_ACCOUNT_SID", _optional_text)
    twilio_auth_token: str | None = _setting("TWILIO_AUTH_TOKEN", _optional_text)
    twilio_from_number: str | None = _setting("TWILIO_FROM_NUMBER", _optional_text)
    twilio_messaging_service_sid: str | None = _setting(
        "TWILIO_MESSAGING_SERVICE_SID", _optional_text
    )

    payout_provider: str = _setting("PAYOUT_PROVIDER", _choice(*PAYOUT_PROVIDERS), "sandbox")
    mpesa_base_url: str = _setting("MPESA_BASE_URL", _http_url, "https://sandbox.safaricom.co.ke")
    mpesa_consumer_key: str | None = _setting("MPESA_CONSUMER_KEY", _optional_text)
    mpesa_consumer_secret: str | None = _setting("MPESA_CONSUMER_SECRET", _optional_text)
    mpesa_shortcode: str | None = _setting("MPESA_SHORTCODE", _optional_text)
    mpesa_initiator_name: str | None = _setting("MPESA_INITIATOR_NAME", _optional_text)
    mpesa_security_credential: str | None = _setting("MPESA_SECURITY_CREDENTIAL", _optional_text)
    mpesa_initiator_password: str | None = _setting("MPESA_INITIATOR_PASSWORD", _optional_text)
    mpesa_cert_path: str | None = _setting("MPESA_CERT_PATH", _optional_text)
    mpesa_webhook_token: str | None = _setting("MPESA_WEBHOOK_TOKEN", _optional_text)
    # Which rail pays each wallet currency; a currency not listed goes to PAYOUT_PROVIDER.
    payout_rails: tuple[tuple[str, str], ...] = _setting("PAYOUT_RAILS", _payout_rails, ())
    momo_base_url: str = _setting(
        "MOMO_BASE_URL", _http_url, "https://sandbox.momodeveloper.mtn.com"
    )
    momo_api_user: str | None = _setting("MOMO_API_USER", _optional_text)
    momo_api_key: str | None = _setting("MOMO_API_KEY", _optional_text)
    momo_subscription_key: str | None = _setting("MOMO_SUBSCRIPTION_KEY", _optional_text)
    momo_target_environment: str = _setting("MOMO_TARGET_ENVIRONMENT", _text, "sandbox")
    # The currency of the MoMo market's wallets (UGX in Uganda; MTN's sandbox takes EUR).
    momo_currency: str = _setting("MOMO_CURRENCY", _text, "UGX")
    momo_webhook_token: str | None = _setting("MOMO_WEBHOOK_TOKEN", _optional_text)
    momo_timeout_seconds: float = _setting("MOMO_TIMEOUT_SECONDS", _number, 30.0)
    metrics_token: str | None = _setting("METRICS_TOKEN", _optional_text)
    # Requesters' webhook URLs may reach these hosts, addresses or networks even though
    # they are not public (loopback, private, link-local): none by default (SSRF).
    webhook_allowed_hosts: tuple[str, ...] = _setting("WEBHOOK_ALLOWED_HOSTS", _host_list, ())

    # Hourly living-wage floors in the country's own currency, minor units (KES 125.00 = 12500).
    living_wage_floors: tuple[tuple[str, int], ...] = _setting(
        "LIVING_WAGE_FLOORS", _wage_floors, (("KE", 12500), ("UG", 2500), ("TZ", 250000))
    )
    platform_fee_percent: int = _setting("PLATFORM_FEE_PERCENT", _integer, 0)
    # Impact surveys (impact/): follow-ups this many days after registration, and the fee a
    # worker earns for completing one, per wallet currency in minor units (KES 20 = 2000);
    # a currency not listed pays no fee.
    impact_followup_days: tuple[int, ...] = _setting("IMPACT_FOLLOWUP_DAYS", _day_list, (90, 180))
    impact_survey_fees: tuple[tuple[str, int], ...] = _setting(
        "IMPACT_SURVEY_FEES",
        _currency_amounts,
        (("KES", 2000), ("UGX", 500), ("TZS", 50000), ("HTG", 2500)),
    )
    # The bearer token of the operators' API routes (GET /api/v1/impact); requester API
    # keys never open them. Unset: those routes refuse every call.
    operator_api_token: str | None = _setting("OPERATOR_API_TOKEN", _optional_text)
    # Maker-checker on recorded deposits: one admin records, another approves before the
    # money counts in the requester's funding.
    funding_maker_checker: bool = _setting("FUNDING_MAKER_CHECKER", _boolean, False)
    # Withdrawal limits in minor units (KES cents); Daraja pays KES 10 to 250,000.
    payout_min_minor: int = _setting("PAYOUT_MIN_MINOR", _integer, 1_000)
    payout_max_minor: int = _setting("PAYOUT_MAX_MINOR", _integer, 7_000_000)
    payout_daily_cap_minor: int = _setting("PAYOUT_DAILY_CAP_MINOR", _integer, 10_000_000)
    payout_daily_withdrawals: int = _setting("PAYOUT_DAILY_WITHDRAWALS", _integer, 3)
    # Limits of other currencies, CUR:min:max:daily_cap in minor units (KES uses the three
    # settings above). UGX has no minor unit: UGX 500 is 500.
    payout_limits: tuple[tuple[str, int, int, int], ...] = _setting(
        "PAYOUT_LIMITS", _currency_limits, (("UGX", 500, 5_000_000, 10_000_000),)
    )
    # Airtime for withdrawals below the mobile-money minimum, CUR:min:max:daily_cap in minor
    # units (e.g. KES:500:999:2000: KES 5 up to just under M-Pesa's KES 10); none: off.
    payout_airtime_limits: tuple[tuple[str, int, int, int], ...] = _setting(
        "PAYOUT_AIRTIME_LIMITS", _currency_limits, ()
    )
    payout_float_alert_minor: int = _setting("PAYOUT_FLOAT_ALERT_MINOR", _integer, 5_000_000)
    payout_unknown_after_minutes: float = _setting("PAYOUT_UNKNOWN_AFTER_MINUTES", _number, 10.0)
    # A payout with no proof of payment this long after it was requested, and "not found"
    # at the provider, is sent once more under its own key; past it, an alert is raised.
    payout_resolve_window_minutes: float = _setting("PAYOUT_RESOLVE_WINDOW_MINUTES", _number, 60.0)
    # The periodic reconcile (rq's scheduler under `flask worker`, a timer when embedded).
    payout_reconcile_minutes: float = _setting("PAYOUT_RECONCILE_MINUTES", _number, 5.0)
    payout_reconcile_timer: bool = _setting("PAYOUT_RECONCILE_TIMER", _boolean, True)
    payout_pin_lock_minutes: float = _setting("PAYOUT_PIN_LOCK_MINUTES", _number, 30.0)
    # Lapsed task reservations are released by a sweep this often (rq's scheduler under
    # `flask worker`, a timer when embedded; 0: off, as the tests have it), not by a job
    # per reservation; a pick that finds nothing also releases a few itself.
    reservation_sweep_seconds: float = _setting("RESERVATION_SWEEP_SECONDS", _number, 60.0)
    # Data protection (Kenya DPA 2019, s. 39: kept no longer than needed): raw provider
    # callbacks are deleted, and SMS bodies blanked, once older than this many days.
    retention_webhook_events_days: int = _setting("RETENTION_WEBHOOK_EVENTS_DAYS", _integer, 90)
    retention_message_bodies_days: int = _setting("RETENTION_MESSAGE_BODIES_DAYS", _integer, 90)
    payout_sandbox_delay_seconds: float = _setting("PAYOUT_SANDBOX_DELAY_SECONDS", _number, 2.0)
    # Spam detection (tasks.detection): gold answers before a chance verdict, the test's
    # significance, the margin above chance a worker must keep, answers in a row of one
    # option or too fast, flags before suspension, and held answers before no more tasks.
    quality_min_gold: int = _setting("QUALITY_MIN_GOLD", _integer, 6)
    quality_chance_alpha: float = _setting("QUALITY_CHANCE_ALPHA", _number, 0.05)
    quality_min_margin: float = _setting("QUALITY_MIN_MARGIN", _number, 0.15)
    quality_unproven_after: int = _setting("QUALITY_UNPROVEN_AFTER", _integer, 3)
    quality_same_option_run: int = _setting("QUALITY_SAME_OPTION_RUN", _integer, 12)
    quality_fast_streak: int = _setting("QUALITY_FAST_STREAK", _integer, 3)
    quality_flags_to_suspend: int = _setting("QUALITY_FLAGS_TO_SUSPEND", _integer, 2)
    quality_max_held: int = _setting("QUALITY_MAX_HELD", _integer, 15)
    # Paid answers a worker may give per local day (core.localtime); 0: no cap.
    task_daily_cap: int = _setting("TASK_DAILY_CAP", _integer, 0)
    # The console's phone simulator acts as these numbers only; none listed means any
    # number outside production and the simulator switched off in production.
    simulator_numbers: tuple[str, ...] = _setting("SIMULATOR_NUMBERS", _phone_numbers, ())

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = None
    ) -> Settings:
        """Read settings from the environment, with a `.env` file filling in what is unset."""
        merged: dict[str, str] = {}
        path = Path(dotenv_path) if dotenv_path else REPO_ROOT / ".env"
        if path.is_file():
            merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
        merged.update(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = merged.get(f.metadata["env"])
            if raw is not None:
                values[f.name] = f.metadata["coerce"](f.metadata["env"], raw)
        return cls(**values)

    def __post_init__(self) -> None:
        for problem in self._problems():
            raise SettingsError(problem)

    @property
    def rails_in_use(self) -> frozenset[str]:
        """Every payout rail this deployment may pay through."""
        airtime = {"airtime"} if self.payout_airtime_limits else set()
        return frozenset({self.payout_provider, *(rail for _, rail in self.payout_rails), *airtime})

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL to connect with; the embedded SQLite file when none is set."""
        return self.database_url or f"sqlite:///{DEFAULT_SQLITE_PATH}"

    @property
    def embedded(self) -> bool:
        """True when no Redis is configured: in-process jobs and session store."""
        return self.redis_url is None

    def _problems(self) -> list[str]:
        required: list[str] = []
        if self.sms_provider == "africastalking":
            required += ["AT_USERNAME", "AT_API_KEY"]
        if self.sms_provider == "twilio":
            required += ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]
            # A Messaging Service picks its own sender, so either one will do.
            if not self.twilio_messaging_service_sid:
                required.append("TWILIO_FROM_NUMBER")
        if "airtime" in self.rails_in_use and self.sms_provider != "africastalking":
            required += ["AT_USERNAME", "AT_API_KEY"]
        if "mtn_momo" in self.rails_in_use:
            required += ["MOMO_API_USER", "MOMO_API_KEY", "MOMO_SUBSCRIPTION_KEY"]
            if self.is_production:
                required.append("MOMO_WEBHOOK_TOKEN")
        if "daraja" in self.rails_in_use:
            required += [
                "MPESA_CONSUMER_KEY",
                "MPESA_CONSUMER_SECRET",
                "MPESA_SHORTCODE",
                "MPESA_INITIATOR_NAME",
            ]
        if self.is_production:
            # Webhooks that providers do not sign are only as safe as these tokens.
            required += ["SECRET_KEY", "PUBLIC_BASE_URL", "AT_WEBHOOK_TOKEN"]
            if "daraja" in self.rails_in_use:
                required.append("MPESA_WEBHOOK_TOKEN")
        problems = [
            f"{name}: required {self._why(name)}" for name in required if not self._get(name)
        ]
        if (
            "daraja" in self.rails_in_use
            and not self.mpesa_security_credential
            and not (self.mpesa_initiator_password and self.mpesa_cert_path)
        ):
            problems.append(
                "MPESA_SECURITY_CREDENTIAL: required with PAYOUT_PROVIDER=daraja "
                "(or set MPESA_INITIATOR_PASSWORD and MPESA_CERT_PATH to build it)"
            )
        if self.mpesa_cert_path and not Path(self.mpesa_cert_path).is_file():
            problems.append(f"MPESA_CERT_PATH: no certificate file at {self.mpesa_cert_path}")
        if self.is_production and self.secret_key and len(self.secret_key) < 32:
            problems.append("SECRET_KEY: must be at least 32 characters in production")
        if not 0 <= self.platform_fee_percent <= 100:
            problems.append("PLATFORM_FEE_PERCENT: must be between 0 and 100")
        if not 1_000 <= self.payout_min_minor <= self.payout_max_minor <= 25_000_000:
            problems.append(
                "PAYOUT_MIN_MINOR, PAYOUT_MAX_MINOR: need 1000 <= min <= max <= 25000000 "
                "(Daraja pays KES 10 to 250,000)"
            )
        if self.payout_reconcile_minutes < 0 or self.payout_resolve_window_minutes <= 0:
            problems.append(
                "PAYOUT_RECONCILE_MINUTES, PAYOUT_RESOLVE_WINDOW_MINUTES: need reconcile >= 0 "
                "(0: off) and window > 0"
            )
        if self.reservation_sweep_seconds < 0:
            problems.append("RESERVATION_SWEEP_SECONDS: must be 0 (off) or more")
        for name in ("USSD_HOPS_PER_MINUTE", "SMS_INBOUND_PER_MINUTE", "LOGIN_FAILURES_PER_IP"):
            if self._get(name) < 0:
                problems.append(f"{name}: must be 0 (off) or more")
        if self.sms_rate_per_second <= 0:
            problems.append("SMS_RATE_PER_SECOND: must be greater than 0")
        if len(self.default_country) != 2 or not self.default_country.isalpha():
            problems.append("DEFAULT_COUNTRY: expected a two-letter country code such as KE")
        return problems

    def _get(self, env_name: str) -> Any:
        return next(getattr(self, f.name) for f in fields(self) if f.metadata["env"] == env_name)

    def _why(self, env_name: str) -> str:
        if env_name.startswith("AT_") and self.sms_provider == "africastalking":
            return "with SMS_PROVIDER=africastalking"
        if env_name.startswith("AT_") and "airtime" in self.rails_in_use:
            return "with the airtime rail (PAYOUT_PROVIDER or PAYOUT_RAILS)"
        if env_name.startswith("TWILIO_"):
            return "with SMS_PROVIDER=twilio"
        if env_name.startswith("MPESA_") and env_name != "MPESA_WEBHOOK_TOKEN":
            return "with PAYOUT_PROVIDER=daraja"
        if env_name.startswith("MOMO_") and env_name != "MOMO_WEBHOOK_TOKEN":
            return "with the mtn_momo rail (PAYOUT_PROVIDER or PAYOUT_RAILS)"
        return "in production (KAZI_ENV=production)"
