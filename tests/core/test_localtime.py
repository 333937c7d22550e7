"""A worker's day starts at midnight in their country, found from their phone number."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.localtime import local_midnight, zone_of_phone


@pytest.mark.parametrize(
    ("phone", "now", "midnight"),
    [
        # Nairobi is UTC+3: its day starts at 21:00 UTC the evening before.
        (
            "+254711000001",
            datetime(2026, 12, 2, 20, 59, tzinfo=UTC),
            datetime(2026, 12, 1, 21, 0, tzinfo=UTC),
        ),
        (
            "+254711000001",
            datetime(2026, 12, 2, 21, 0, tzinfo=UTC),
            datetime(2026, 12, 2, 21, 0, tzinfo=UTC),
        ),
        (
            "+256772000001",
            datetime(2026, 12, 2, 1, 0, tzinfo=UTC),
            datetime(2026, 12, 1, 21, 0, tzinfo=UTC),
        ),
        (
            "+919812345678",
            datetime(2026, 12, 2, 18, 29, tzinfo=UTC),
            datetime(2026, 12, 1, 18, 30, tzinfo=UTC),
        ),
        (
            "+919812345678",
            datetime(2026, 12, 2, 18, 30, tzinfo=UTC),
            datetime(2026, 12, 2, 18, 30, tzinfo=UTC),
        ),
        # Port-au-Prince: UTC-5 in winter, UTC-4 in summer (Haiti keeps DST).
        (
            "+50934123456",
            datetime(2026, 12, 2, 4, 0, tzinfo=UTC),
            datetime(2026, 12, 1, 5, 0, tzinfo=UTC),
        ),
        (
            "+50934123456",
            datetime(2026, 7, 2, 4, 0, tzinfo=UTC),
            datetime(2026, 7, 2, 4, 0, tzinfo=UTC),
        ),
        # A country Kazi has no zone for: the UTC day.
        (
            "+447911123456",
            datetime(2026, 12, 2, 23, 0, tzinfo=UTC),
            datetime(2026, 12, 2, 0, 0, tzinfo=UTC),
        ),
    ],
)
def test_local_midnight_of_the_phones_country(
    phone: str, now: datetime, midnight: datetime
) -> None:
    assert local_midnight(zone_of_phone(phone), now) == midnight


def test_the_zones_named_by_the_contract() -> None:
    assert str(zone_of_phone("+254711000001")) == "Africa/Nairobi"
    assert str(zone_of_phone("+256772000001")) == "Africa/Kampala"
    assert str(zone_of_phone("+50934123456")) == "America/Port-au-Prince"
    assert str(zone_of_phone("+919812345678")) == "Asia/Kolkata"
