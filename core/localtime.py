"""A worker's local day: the time zone of their country, found from their phone number.

Daily limits (withdrawals per day, the daily cap) reset at the worker's local midnight,
not at midnight UTC, which is 03:00 in Nairobi and 19:00 the day before in Port-au-Prince.
Zones come from the IANA database through ``zoneinfo`` (https://docs.python.org/3/library/zoneinfo.html;
the ``tzdata`` package supplies it where the system has none).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from core.phone import InvalidNumber, normalize_msisdn

#: ISO 3166 country → IANA zone, for the countries Kazi's rails and numbers serve.
#: Each has a single zone (https://data.iana.org/time-zones/tzdb/zone1970.tab).
COUNTRY_ZONES = {
    "KE": "Africa/Nairobi",
    "UG": "Africa/Kampala",
    "TZ": "Africa/Dar_es_Salaam",
    "RW": "Africa/Kigali",
    "HT": "America/Port-au-Prince",
    "IN": "Asia/Kolkata",
}


def zone_of_country(country: str | None) -> tzinfo:
    """The time zone of a country (UTC for one Kazi does not know)."""
    name = COUNTRY_ZONES.get((country or "").upper())
    return ZoneInfo(name) if name else UTC


def display_zone(name: str | None, country: str | None) -> ZoneInfo:
    """The zone a deployment shows times in: the one named, else its country's, else UTC."""
    return ZoneInfo(name or COUNTRY_ZONES.get((country or "").upper(), "UTC"))


def zone_of_phone(phone: str) -> tzinfo:
    """The time zone of the country a phone number belongs to (UTC when it names none)."""
    try:
        return zone_of_country(normalize_msisdn(phone).region)
    except InvalidNumber:
        return UTC  # stored numbers are E.164 already; a test number may be unassigned


def local_midnight(zone: tzinfo, now: datetime) -> datetime:
    """The start, in UTC, of the local day in ``zone`` that contains ``now`` (aware)."""
    local = now.astimezone(zone)
    # Built from the local date, not by subtracting hours: a day with a DST change
    # (Haiti keeps DST) is not 24 hours long.
    start = datetime.combine(local.date(), time(), tzinfo=zone)
    return start.astimezone(UTC)


def next_local_midnight(zone: tzinfo, now: datetime) -> datetime:
    """The start, in UTC, of the local day in ``zone`` after the one containing ``now``."""
    local = now.astimezone(zone)
    start = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC)
