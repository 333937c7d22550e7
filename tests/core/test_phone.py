from __future__ import annotations

import pytest

from core.errors import KaziError
from core.phone import InvalidNumber, Msisdn, normalize_msisdn


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        ("0712345678", "+254712345678", "KE"),
        ("712345678", "+254712345678", "KE"),
        ("254712345678", "+254712345678", "KE"),
        ("+254712345678", "+254712345678", "KE"),
        (" +254 712 345 678 ", "+254712345678", "KE"),
        ("0712-345-678", "+254712345678", "KE"),
        ("(0712) 345678", "+254712345678", "KE"),
        ("00254712345678", "+254712345678", "KE"),  # "00" as international prefix
        ("000254712345678", "+254712345678", "KE"),  # Kenya's own international prefix
        ("0110123456", "+254110123456", "KE"),  # the newer 01x mobile range
        ("+255712345678", "+255712345678", "TZ"),
        ("+14155552671", "+14155552671", "US"),
    ],
)
def test_normalises_to_e164_with_country(raw: str, e164: str, region: str) -> None:
    assert normalize_msisdn(raw) == Msisdn(e164=e164, region=region)


def test_default_region_decides_national_numbers() -> None:
    assert normalize_msisdn("0712345678", "TZ").e164 == "+255712345678"


def test_digits_form_for_daraja() -> None:
    assert normalize_msisdn("0712345678").digits == "254712345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "0712",  # too short
        "+2547123456789",  # too long
        "07ABCDEFGH",  # keypad letters are refused, not translated
        "+254712345678x",
        "+15550100123",  # fictional 555-01xx
        "1" * 40,
        "+254 712 345 678; DROP TABLE",
        "++254712345678",
    ],
)
def test_rejects_invalid_numbers_naming_the_input(raw: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        normalize_msisdn(raw)
    assert info.value.http_status == 400
    assert (raw.strip() or raw)[:20] in info.value.message


def test_mobile_only_refuses_landlines() -> None:
    assert normalize_msisdn("0201234567").e164 == "+254201234567"
    with pytest.raises(InvalidNumber, match="not a mobile"):
        normalize_msisdn("0201234567", mobile_only=True)
    assert normalize_msisdn("0712345678", mobile_only=True).e164 == "+254712345678"


def test_non_string_input_is_invalid() -> None:
    with pytest.raises(InvalidNumber):
        normalize_msisdn(712345678)  # type: ignore[arg-type]  # not a str, on purpose


def test_an_invalid_number_is_a_400_naming_the_input() -> None:
    error = InvalidNumber("9" * 500)
    assert KaziError in type(error).__mro__ and error.http_status == 400
    assert error.code == "invalid_number" and len(error.details[0]["input"]) <= 81
