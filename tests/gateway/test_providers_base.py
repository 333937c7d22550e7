from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from gateway.delivery import DeliveryStatus
from gateway.errors import GatewayError, PermanentSendError, ProviderConfigError
from gateway.providers.africastalking import AfricasTalkingProvider
from gateway.providers.base import parse_cost
from gateway.providers.console import ConsoleProvider
from gateway.providers.registry import build_sms_provider
from gateway.providers.twilio import TwilioProvider


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KES 0.8000", ("KES", Decimal("0.8000"))),
        ("kes 1", ("KES", Decimal("1"))),
        ("0.0000", (None, Decimal("0.0000"))),
        ("0", (None, Decimal("0"))),
        ("USD -0.0079", ("USD", Decimal("-0.0079"))),
        ("", (None, None)),
        (None, (None, None)),
        ("about a shilling", (None, None)),
    ],
)
def test_parse_cost(text: str | None, expected: tuple) -> None:
    assert parse_cost(text) == expected


def test_factory_defaults_to_console() -> None:
    assert isinstance(build_sms_provider("", {}), ConsoleProvider)
    assert isinstance(build_sms_provider("Console", {}), ConsoleProvider)


@dataclass
class _Settings:
    at_username: str | None = "sandbox"
    at_api_key: str | None = "k"
    twilio_account_sid: str | None = "AC1"
    twilio_auth_token: str | None = "t"
    twilio_from_number: str | None = "+15550100123"


def test_factory_reads_mappings_and_settings_objects() -> None:
    assert isinstance(
        build_sms_provider("africastalking", {"at_username": "u", "at_api_key": "k"}),
        AfricasTalkingProvider,
    )
    assert isinstance(build_sms_provider("twilio", _Settings()), TwilioProvider)


@pytest.mark.parametrize(
    ("name", "settings", "needle"),
    [
        ("africastalking", _Settings(at_api_key=None), "AT_API_KEY"),
        ("africastalking", _Settings(at_username=""), "AT_USERNAME"),
        ("twilio", _Settings(twilio_auth_token=None), "TWILIO_AUTH_TOKEN"),
        ("twilio", _Settings(twilio_from_number=None), "TWILIO_FROM_NUMBER"),
        ("carrier-pigeon", _Settings(), "carrier-pigeon"),
    ],
)
def test_factory_names_what_is_missing(name: str, settings: _Settings, needle: str) -> None:
    with pytest.raises(ProviderConfigError, match=needle) as info:
        build_sms_provider(name, settings)
    assert isinstance(info.value, GatewayError)


def test_console_records_and_returns_fake_ids() -> None:
    console = ConsoleProvider()
    first = console.send("0711000111", "Habari 😀", callback_url="https://x/cb")
    second = console.send("+254711000222", "hi")
    assert first.provider_message_id != second.provider_message_id
    assert (first.status, first.encoding, first.segments) == (
        DeliveryStatus.ACCEPTED,
        "UCS-2",
        1,
    )
    assert [m.to for m in console.outbox] == ["+254711000111", "+254711000222"]
    assert console.outbox[0].callback_url == "https://x/cb"
    assert [m.body for m in console.messages_to("+254711000111")] == ["Habari 😀"]


def test_console_refuses_bad_numbers_like_real_providers() -> None:
    console = ConsoleProvider()
    with pytest.raises(PermanentSendError):
        console.send("123", "hi")
    outcomes = console.send_bulk(["+254711000111", "nope"], "hi")
    assert outcomes[0].result is not None and outcomes[1].error is not None
    assert len(console.outbox) == 1
