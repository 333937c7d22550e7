"""The load, scale and outbound benchmarks at toy sizes, so their instruments keep working.

Each run asserts the checks the full run relies on: screens against the database for
the HTTP benchmark, every pick served for the scale one, every SMS sent exactly once
(and the limiter holding) for the outbound one. Speed is not asserted: bench/ does that.
"""

from __future__ import annotations

import shutil

import pytest

from bench import fake_africastalking, http_load, outbound, scale
from bench.harness import checkout_database
from bench.http_load import CheckFailed, Measured, check
from bench.wrk import WrkResult
from gateway.delivery import DeliveryStatus
from gateway.providers.africastalking import interpret_send_response
from tests.conftest import POSTGRES_ADMIN_URL


def _wrk(**overrides: object) -> WrkResult:
    fields: dict[str, object] = dict(
        seconds=1.0, hops=14, answered=10, saved=10, bad=0, errors=0,
        p50_ms=1.0, p95_ms=2.0, p99_ms=3.0, first_bad="",
    )  # fmt: skip
    fields.update(overrides)
    return WrkResult(**fields)  # type: ignore[arg-type]


def test_the_check_passes_screens_the_database_agrees_with() -> None:
    check(Measured("Kazi", "postgresql", 2, _wrk(), stored=11, wages=10))  # one in flight
    check(Measured("Kazi", "postgresql", 2, _wrk(errors=1), stored=13, wages=13))  # timed out


@pytest.mark.parametrize(
    ("wrk", "stored", "wages", "why"),
    [
        (_wrk(saved=9), 10, 10, "'Saved!' screens"),  # an answer hop showed something else
        (_wrk(), 9, 10, "stored"),  # a 'Saved!' screen the database never saved
        (_wrk(), 10, 7, "wages"),  # saved but not paid
        (_wrk(), 13, 13, "stored"),  # more stored than sessions could have had in flight
        (_wrk(bad=1, first_bad="200 END Sorry"), 10, 10, "bad screens"),
        (_wrk(errors=1), 14, 14, "stored"),  # a timed-out hop widens the bound by one only
        (_wrk(hops=0, answered=0, saved=0), 0, 0, "no hop"),
    ],
)
def test_a_fast_wrong_answer_fails_the_check(
    wrk: WrkResult, stored: int, wages: int, why: str
) -> None:
    with pytest.raises(CheckFailed, match=why):
        check(Measured("Kazi", "postgresql", 2, wrk, stored=stored, wages=wages))


def test_the_fake_servers_answer_is_what_the_adapter_reads_as_accepted() -> None:
    numbers = ["+254700000001", "+254700000002"]
    outcomes = interpret_send_response(fake_africastalking.answer(numbers), numbers, "hi")
    assert [o.result.status for o in outcomes if o.result] == [DeliveryStatus.ACCEPTED] * 2


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (bench/run installs it)"
)
def test_http_load_walks_sessions_on_kazi_and_the_floor(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("KAZI_BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL)
    table = http_load.run(
        http_load.SMOKE, redis_url=redis_url, database=checkout_database("kazi_http_smoke"),
        say=lambda _: None,
    )  # fmt: skip

    runs = {(row.database, row.dataset) for row in table.rows}
    assert runs == {
        ("postgresql", "Kazi, 4 sessions"),
        ("postgresql", "floor, 4 sessions"),
        ("sqlite", "Kazi, 2 sessions"),
    }
    for row in table.rows:
        assert row.n > 0 and row.throughput > 0 and 0 < row.p50_ms <= row.p99_ms, row
    ratios = [line for line in table.extra if line.startswith("| postgresql | 4 |")]
    assert len(ratios) == 1 and "–" not in ratios[0]  # Kazi against the floor


@pytest.mark.postgres
def test_scale_picks_on_every_dataset_and_explains_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAZI_BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL)
    table = scale.run(scale.SMOKE, database=checkout_database("kazi_scale_smoke"), say=print)

    assert [row.n for row in table.rows] == [scale.SMOKE.picks] * 3
    assert all(ratio > 0 for ratio in scale.ratios(table))
    grown = [line for line in table.extra if line.startswith("| tasks ×") or "| workers ×" in line]
    assert len(grown) == 2
    for line in grown:
        statements = int(line.split("|")[4])
        assert statements > 3, line  # the pick was captured statement by statement


@pytest.mark.postgres
@pytest.mark.redis
def test_outbound_sends_every_sms_once_and_the_limiter_holds(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("KAZI_BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL)
    table = outbound.run(
        outbound.SMOKE, redis_url=redis_url, database=checkout_database("kazi_outbound_smoke"),
        say=lambda _: None,
    )  # fmt: skip

    rows = [line for line in table.extra if line.startswith(("| single", "| batched"))]
    assert len(rows) == 3
    requests = [int(line.split("|")[3].replace(",", "")) for line in rows]
    # One request per single SMS; 100 numbers per request when batched.
    limited = int(outbound.SMOKE.limits[0] * outbound.SMOKE.limited_seconds)
    assert requests == [outbound.SMOKE.single, 3, -(-limited // 100)]
    (share,) = outbound.limited_shares(table)
    # Never faster than the configured limit allows (one window's burst at most).
    assert share <= outbound.fastest_share(outbound.SMOKE.limited_seconds)
    assert any(line.startswith("Batching gain:") for line in table.extra)
