"""The shared send rate: a fake clock for the arithmetic, two real processes on Redis for the sharing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections import Counter
from typing import Any

import pytest

from core.kvstore import MemoryStore
from gateway.ratelimit import RateLimiter
from tests.gateway.payloads import REPO_ROOT


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _limiter(rate: float, clock: FakeClock, store: MemoryStore | None = None) -> RateLimiter:
    return RateLimiter(
        store or MemoryStore(clock=clock), "at", rate, clock=clock, sleep=clock.sleep
    )


def test_the_limit_holds_per_window_and_the_caller_waits_for_the_next() -> None:
    clock = FakeClock(1000.25)
    limiter = _limiter(3, clock)
    windows = [limiter.acquire().window for _ in range(7)]
    assert windows == [1000, 1000, 1000, 1001, 1001, 1001, 1002]
    assert clock.slept and clock.slept[0] == pytest.approx(0.751)


def test_a_rate_below_one_spreads_sends_over_longer_windows() -> None:
    clock = FakeClock(1000.0)
    limiter = _limiter(0.5, clock)
    first, second = limiter.acquire(), limiter.acquire()
    assert second.window == first.window + 1 and clock.now >= 1002.0


def test_a_caller_that_cannot_get_a_slot_in_time_gets_a_timeout() -> None:
    clock = FakeClock(1000.0)
    limiter = _limiter(1, clock)
    limiter.acquire()
    with pytest.raises(TimeoutError):
        limiter.acquire(timeout=0.5)


def test_limiters_sharing_a_store_share_the_limit() -> None:
    clock = FakeClock(1000.0)
    store = MemoryStore(clock=clock)
    a, b = _limiter(2, clock, store), _limiter(2, clock, store)
    assert [a.acquire().window, b.acquire().window, a.acquire().window] == [1000, 1000, 1001]


_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from redis import Redis
    from core.kvstore import RedisStore
    from gateway.ratelimit import RateLimiter
    url, count, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    limiter = RateLimiter(RedisStore(Redis.from_url(url)), "shared-channel", 10)
    time.sleep(max(0.0, start - time.time()))
    print(json.dumps([limiter.acquire().window for _ in range(count)]))
    """
)


def test_two_worker_processes_share_one_rate_on_redis(redis_client: Any, redis_url: str) -> None:
    start = time.time() + 0.5  # both processes begin sending at the same moment
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, redis_url, "15", str(start)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=30)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    windows = [w for out in outputs for w in json.loads(out)]
    per_window = Counter(windows)
    # 30 sends at 10/s across both processes: no second saw more than 10, so at least 3 seconds.
    assert len(windows) == 30 and max(per_window.values()) <= 10
    assert len(per_window) >= 3
    assert time.time() - start >= 1.0


def test_a_message_takes_one_slot_per_segment() -> None:
    clock = FakeClock(1000.0)
    limiter = _limiter(4, clock)
    assert limiter.acquire(3).window == 1000  # three of the second's four slots
    assert limiter.acquire(1).window == 1000
    assert limiter.acquire(2).window == 1001  # no room left in 1000
    assert limiter.acquire(2).window == 1001


def test_a_message_longer_than_a_window_spreads_over_several() -> None:
    clock = FakeClock(1000.0)
    limiter = _limiter(2, clock)
    assert limiter.acquire(5).window == 1002  # 2 + 2 + 1 slots
    with pytest.raises(ValueError):
        limiter.acquire(0)


def test_the_send_job_counts_the_messages_segments(
    committed_url: str, redis_client: Any, redis_url: str
) -> None:
    import responses

    from tests.gateway.test_send_job import AT_API, AT_SETTINGS, _at_answer, _queue, _run, _runtime

    for runtime in _runtime(committed_url, redis_url, **AT_SETTINGS):
        clock = FakeClock(5_000_000.0)
        limiter = RateLimiter(runtime.store, "africastalking", 100, clock=clock)
        runtime.extras["sms_rate:africastalking"] = limiter
        with responses.RequestsMock() as mock:
            mock.post(AT_API, json=_at_answer(), status=201)
            _run(runtime, _queue(runtime, body="Kazi mpya: " + "x" * 300))  # 3 segments
        # The next slot handed out in that window is the fourth.
        assert limiter.acquire().position == 4
