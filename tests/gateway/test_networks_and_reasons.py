"""Network codes become network names, and stored failure codes become words with the code beside."""

from __future__ import annotations

import pytest

from gateway.failure_reasons import REASONS, describe
from gateway.networks import NETWORKS, network_choices, network_label, network_of


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("63902", "Safaricom KE (63902)"),
        ("63903", "Airtel KE (63903)"),
        ("64110", "MTN UG (64110)"),
        ("63907", "Telkom KE (63907)"),
        ("37202", "Digicel HT (37202)"),
        ("37203", "Natcom HT (37203)"),
        ("405857", "Jio IN (405857)"),
        ("40420", "Vodafone Idea IN (40420)"),
        ("40434", "BSNL IN (40434)"),
        ("99999", "Athena (AT sandbox) (99999)"),
        (" 63902 ", "Safaricom KE (63902)"),
        ("12345", "network 12345"),  # unknown codes are shown, never guessed
        ("", "unknown network"),
        (None, "unknown network"),
    ],
)
def test_network_codes_read_as_names(code: str | None, label: str) -> None:
    assert network_label(code) == label


def test_every_code_is_an_mcc_and_mnc_and_choices_gather_a_networks_codes() -> None:
    assert all(code.isdigit() and len(code) in (5, 6) for code in NETWORKS)
    choices = network_choices()
    assert choices["Safaricom KE"] == ["63902"]
    assert {"40402", "40410", "40445"} <= set(choices["Airtel IN"])
    assert network_of("nonsense") is None


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("DeliveryFailure", "The network could not deliver it (AT DeliveryFailure)"),
        (
            "NotNetworkSubcriber",
            "The number is not on the network it was sent to (AT NotNetworkSubcriber)",
        ),
        (
            "userinblacklist",
            "The subscriber blocked messages from this sender (AT userinblacklist)",
        ),
        ("30003", "Handset unreachable (off or out of coverage) (Twilio 30003)"),
        ("21610", "The recipient replied STOP to our sender (Twilio 21610)"),
        ("absent_subscriber", "Phone off or out of coverage (Kazi absent_subscriber)"),
        (
            "gave_up: provider_error (500)",
            "Gave up after retries: The provider had an internal error (Kazi provider_error (500))",
        ),
        (
            "maybe_sent: network",
            "May have been sent (the provider did not answer): "
            "The network between us and the provider failed (Kazi network)",
        ),
        ("SomethingNew", "SomethingNew"),  # unknown: as it came
        ("gave_up: mystery", "Gave up after retries: mystery"),
        (None, "no reason given"),
    ],
)
def test_failure_codes_read_as_words_with_the_code_beside(stored: str | None, shown: str) -> None:
    assert describe(stored) == shown


def test_the_reason_table_keys_are_lower_case_so_lookups_ignore_case() -> None:
    assert all(key == key.casefold() for key in REASONS)
