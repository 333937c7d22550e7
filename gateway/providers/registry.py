"""The SMS provider called SMS_PROVIDER, built from settings: one branch per provider.

Imports are local so that choosing "console" never imports the provider SDKs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway.errors import ProviderConfigError
from gateway.providers.base import SmsProvider


def _setting(config: Mapping[str, Any] | object, key: str) -> str | None:
    """Read one setting from a mapping or an attribute-style settings object."""
    value = config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)
    return str(value) if value not in (None, "") else None


def _required(config: Mapping[str, Any] | object, key: str, provider: str) -> str:
    """Read a setting that must be present, naming it (as an env var) when missing."""
    value = _setting(config, key)
    if value is None:
        raise ProviderConfigError(f"{key.upper()} is required when SMS_PROVIDER={provider}")
    return value


def build_sms_provider(
    name: str,
    config: Mapping[str, Any] | object,
    *,
    console_reporter: Callable[[dict[str, str]], None] | None = None,
) -> SmsProvider:
    """Build the SMS provider called ``name`` from settings (a mapping or a settings object);
    ``console_reporter`` makes the console provider post delivery reports through it."""
    # Imports are local so that choosing "console" never imports the provider SDKs.
    key = (name or "console").strip().lower()
    if key == "console":
        from gateway.providers.console import ConsoleProvider

        return ConsoleProvider(console_reporter)
    if key == "africastalking":
        from gateway.providers.africastalking import AfricasTalkingProvider

        return AfricasTalkingProvider(
            username=_required(config, "at_username", key),
            api_key=_required(config, "at_api_key", key),
            # Settings call it SMS_SENDER_ID; a plain mapping may still say at_sender_id.
            sender_id=_setting(config, "at_sender_id") or _setting(config, "sms_sender_id"),
        )
    if key == "twilio":
        from gateway.providers.twilio import TwilioProvider

        from_number = _setting(config, "twilio_from_number")
        service_sid = _setting(config, "twilio_messaging_service_sid")
        if not from_number and not service_sid:
            raise ProviderConfigError(
                "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required "
                "when SMS_PROVIDER=twilio"
            )
        return TwilioProvider(
            account_sid=_required(config, "twilio_account_sid", key),
            auth_token=_required(config, "twilio_auth_token", key),
            from_number=from_number,
            messaging_service_sid=service_sid,
        )
    raise ProviderConfigError(
        f"SMS_PROVIDER={name!r} is unknown (choose console, africastalking or twilio)"
    )
