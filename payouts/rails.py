"""Payout rails: which provider pays a payout, each built once per process from settings.

``rail_for(settings, currency)`` is the one place a new payout's rail is chosen: by the
wallet's currency from ``PAYOUT_RAILS`` (``KES:daraja,UGX:mtn_momo``), else the default
rail ``PAYOUT_PROVIDER``. The payout row keeps that name, and ``provider_for`` answers
for it ever after. A new rail is one adapter module under ``payouts/providers/`` (a
class with the ``PayoutProvider`` methods) plus one entry in ``_BUILDERS`` below, with
the currencies it pays in ``_PAYS``.

``payable_currencies(settings)`` is what the rest of Kazi may ask of the rails: the
currencies a wage can be in, because some rail can pay them out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlencode

import requests

from config.settings import Settings
from core.jobs import JobSpec
from core.money import COUNTRY_CURRENCY, MINOR_UNITS
from core.runtime import Runtime
from payouts.errors import PayoutConfigError
from payouts.models import Payout
from payouts.providers.at_airtime import AIRTIME_CURRENCIES, AirtimeClient
from payouts.providers.base import CallbackKind, PayoutProvider
from payouts.providers.daraja import DarajaClient, DarajaConfig, resolve_base_url
from payouts.providers.daraja_auth import resolve_security_credential
from payouts.providers.mtn_momo import MomoClient, MomoConfig
from payouts.providers.sandbox import SandboxProvider
from payouts.withdrawals import WithdrawalLimits

_build_lock = threading.Lock()
RESULT_PATH = "/webhooks/payouts/b2c/result"
TIMEOUT_PATH = "/webhooks/payouts/b2c/timeout"
MOMO_PATH = "/webhooks/payouts/momo"
AIRTIME_PATH = "/webhooks/payouts/airtime"  # set as the airtime status callback on AT's dashboard
#: Rails that keep no float of their own to watch (airtime comes from the AT account).
_NO_FLOAT = frozenset({"airtime"})


def callback_url(
    settings: Settings, path: str, kind: str | None = None, *, token: str | None = None
) -> str:
    """PUBLIC_BASE_URL + a webhook path, with the webhook token and the callback kind."""
    if not settings.public_base_url:
        raise PayoutConfigError("PUBLIC_BASE_URL: required to build payout callback URLs")
    query = {"token": (settings.mpesa_webhook_token if token is None else token) or ""}
    if kind:
        # Status and balance answers reach the same paths; `kind` tells them apart.
        query["kind"] = kind
    return f"{settings.public_base_url}{path}?{urlencode(query)}"


def daraja_config(settings: Settings, query_kind: str = "status") -> DarajaConfig:
    """The Daraja client's configuration; its query answers come back as ``query_kind``."""
    return DarajaConfig(
        base_url=resolve_base_url(settings.mpesa_base_url),
        consumer_key=settings.mpesa_consumer_key or "",
        consumer_secret=settings.mpesa_consumer_secret or "",
        shortcode=settings.mpesa_shortcode or "",
        initiator_name=settings.mpesa_initiator_name or "",
        security_credential=resolve_security_credential(
            settings.mpesa_security_credential,
            settings.mpesa_initiator_password,
            settings.mpesa_cert_path,
        ),
        result_url=callback_url(settings, RESULT_PATH),
        timeout_url=callback_url(settings, TIMEOUT_PATH),
        query_result_url=callback_url(settings, RESULT_PATH, query_kind),
        query_timeout_url=callback_url(settings, TIMEOUT_PATH, query_kind),
    )


def rail_for(settings: Settings, currency: str) -> str:
    """The rail a new payout from a wallet in ``currency`` goes to (PAYOUT_RAILS, else the default)."""
    return dict(settings.payout_rails).get(currency, settings.payout_provider)


def airtime_limits(settings: Settings, currency: str) -> WithdrawalLimits | None:
    """The limits of airtime withdrawals in ``currency``, or None where PAYOUT_AIRTIME_LIMITS
    does not offer airtime for it."""
    for code, minimum, maximum, cap in settings.payout_airtime_limits:
        if code == currency:
            return WithdrawalLimits(minimum, maximum, cap)
    return None


def route_withdrawal(
    settings: Settings, currency: str, amount_minor: int | None, *, airtime: bool = False
) -> tuple[str, WithdrawalLimits]:
    """The rail and limits of a withdrawal: airtime when the worker chose it (or for an
    amount below the mobile-money minimum) where PAYOUT_AIRTIME_LIMITS offers it for the
    currency, else the currency's mobile-money rail."""
    limits = WithdrawalLimits.from_settings(settings, currency)
    topup = airtime_limits(settings, currency)
    if topup is not None:
        below = amount_minor is not None and amount_minor < limits.minimum
        if airtime or below:
            return "airtime", topup
    return rail_for(settings, currency), limits


def provider_for(runtime: Runtime, payout: Payout) -> PayoutProvider:
    """The rail that pays this payout (and answers for it): the one named on its row."""
    return provider_named(runtime, payout.provider)


def configured_provider(runtime: Runtime) -> PayoutProvider:
    """The rail new payouts go to, and whose callbacks the payout webhooks receive."""
    return provider_named(runtime, runtime.settings.payout_provider)


def balance_provider(runtime: Runtime) -> PayoutProvider:
    """The configured rail, set up to ask for the float (its answers come back as such)."""
    return provider_named(runtime, runtime.settings.payout_provider, purpose="balance")


def provider_named(runtime: Runtime, name: str, *, purpose: str = "payments") -> PayoutProvider:
    """The process's provider of this name, built once; ``purpose="balance"`` for the float."""
    if name == "sandbox":
        # One sandbox per process: its memory of payments answers the status queries.
        purpose = "payments"
    key = f"payout_provider:{name}:{purpose}"
    with _build_lock:  # web threads and the job thread may ask at once
        provider = runtime.extras.get(key)
        if provider is None:
            builder = _BUILDERS.get(name)
            if builder is None:
                raise PayoutConfigError(f"PAYOUT_PROVIDER: no payout rail named {name!r}")
            provider = builder(runtime, purpose)
            runtime.extras[key] = provider
    return cast(PayoutProvider, provider)


def _build_sandbox(runtime: Runtime, purpose: str) -> PayoutProvider:
    settings = runtime.settings
    return SandboxProvider(
        _sandbox_deliver(runtime),
        delay_seconds=settings.payout_sandbox_delay_seconds,
        store=runtime.store,
    )


def _build_daraja(runtime: Runtime, purpose: str) -> PayoutProvider:
    config = daraja_config(runtime.settings, "balance" if purpose == "balance" else "status")
    # The token lives in the runtime's shared store (Redis in production): one per app.
    return DarajaClient(config, requests.Session(), runtime.store)


def _build_momo(runtime: Runtime, purpose: str) -> PayoutProvider:
    settings = runtime.settings
    config = MomoConfig(
        base_url=settings.momo_base_url,
        api_user=settings.momo_api_user or "",
        api_key=settings.momo_api_key or "",
        subscription_key=settings.momo_subscription_key or "",
        target_environment=settings.momo_target_environment,
        currency=settings.momo_currency,
        callback_url=(
            callback_url(settings, MOMO_PATH, token=settings.momo_webhook_token)
            if settings.public_base_url
            else None  # no public URL: no callback, the status query settles each payout
        ),
        read_timeout=settings.momo_timeout_seconds,
    )
    # The token lives in the runtime's shared store (Redis in production), like Daraja's.
    return MomoClient(config, requests.Session(), runtime.store)


def _build_airtime(runtime: Runtime, purpose: str) -> PayoutProvider:
    settings = runtime.settings
    return AirtimeClient(
        settings.at_username or "", settings.at_api_key or "", base_url=settings.at_airtime_base_url
    )


#: Every rail by the name PAYOUT_PROVIDER, PAYOUT_RAILS and a payout's ``provider`` give it.
_BUILDERS: dict[str, Callable[[Runtime, str], PayoutProvider]] = {
    "sandbox": _build_sandbox,
    "daraja": _build_daraja,
    "mtn_momo": _build_momo,
    "airtime": _build_airtime,
}


#: The currencies each rail pays: the sandbox any Kazi knows, Daraja KES, MoMo its market's.
_PAYS: dict[str, Callable[[Settings], frozenset[str]]] = {
    "sandbox": lambda settings: frozenset(MINOR_UNITS),
    "daraja": lambda settings: frozenset({"KES"}),
    "mtn_momo": lambda settings: frozenset({settings.momo_currency}),
    "airtime": lambda settings: AIRTIME_CURRENCIES,
}


def payable_currencies(settings: Settings) -> frozenset[str]:
    """The currencies whose rail pays them out: a wage in any other cannot be withdrawn."""
    return frozenset(
        currency
        for currency in MINOR_UNITS
        if currency in _PAYS[rail_for(settings, currency)](settings)
    )


def wallet_currency(settings: Settings, country: str) -> str:
    """The wallet a worker from ``country`` earns into and withdraws from: their country's
    currency when a rail pays it out, else the deployment's default country's."""
    currency = COUNTRY_CURRENCY.get(country.upper())
    if currency is not None and currency in payable_currencies(settings):
        return currency
    return COUNTRY_CURRENCY.get(settings.default_country.upper(), "KES")


def balance_providers(runtime: Runtime) -> list[PayoutProvider]:
    """Every rail in use, set up to ask for its float."""
    return [
        provider_named(runtime, name, purpose="balance")
        for name in sorted(runtime.settings.rails_in_use - _NO_FLOAT)
    ]


def _sandbox_deliver(runtime: Runtime) -> Any:
    def deliver(kind: CallbackKind, body: dict[str, Any], delay: float) -> None:
        # A delayed job, like Daraja posting later: never inline in the submit call.
        spec = JobSpec(
            "payouts.jobs.deliver_sandbox_callback",
            (str(kind), body),
            queue="payouts",
            delay=timedelta(seconds=delay) if delay > 0 else None,
        )
        runtime.jobs.submit(spec)

    return deliver
