"""Login throttling on both stores: five failures per email and address, for fifteen minutes."""

from __future__ import annotations

from typing import Any

from redis import Redis

from console.auth import LoginThrottle
from core.kvstore import MemoryStore, RedisStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_block_until_the_window_ends() -> None:
    clock = Clock()
    throttle = LoginThrottle(MemoryStore(clock=clock))
    for _ in range(4):
        throttle.failed("Ops@Example.org", "10.0.0.1")
    assert not throttle.blocked("ops@example.org", "10.0.0.1")
    clock.now += 14 * 60  # later failures do not extend the window
    throttle.failed("ops@example.org ", "10.0.0.1")
    assert throttle.blocked("OPS@example.org", "10.0.0.1")
    assert not throttle.blocked("ops@example.org", "10.0.0.2")
    assert not throttle.blocked("other@example.org", "10.0.0.1")
    clock.now += 61
    assert not throttle.blocked("ops@example.org", "10.0.0.1")


def test_the_count_is_shared_through_redis(redis_client: Redis) -> None:
    web_1 = LoginThrottle(RedisStore(redis_client))
    web_2 = LoginThrottle(RedisStore(redis_client))
    for throttle in (web_1, web_2, web_1, web_2, web_1):
        throttle.failed("ops@example.org", "10.0.0.1")
    assert web_2.blocked("ops@example.org", "10.0.0.1")
    ttl = redis_client.pttl("kazi:console:login-failures:ops@example.org:10.0.0.1")
    assert 14 * 60 * 1000 < ttl <= 15 * 60 * 1000
    web_2.succeeded("ops@example.org", "10.0.0.1")
    assert not web_1.blocked("ops@example.org", "10.0.0.1")


def test_failures_from_one_address_block_it_whatever_the_email() -> None:
    clock = Clock()
    throttle = LoginThrottle(MemoryStore(clock=clock), ip_limit=20)
    for n in range(20):  # password spraying: one try per account
        assert not throttle.blocked(f"user{n}@example.org", "10.0.0.9")
        throttle.failed(f"user{n}@example.org", "10.0.0.9")
    assert throttle.blocked("new@example.org", "10.0.0.9")
    assert not throttle.blocked("new@example.org", "10.0.0.8")
    throttle.succeeded("user1@example.org", "10.0.0.9")  # a good sign-in does not reset it
    assert throttle.blocked("new@example.org", "10.0.0.9")
    clock.now += 15 * 60 + 1
    assert not throttle.blocked("new@example.org", "10.0.0.9")


def test_the_console_refuses_a_spraying_address_with_429(app: Any) -> None:
    from tests.console.conftest import sign_in

    client = app.test_client()
    codes = [sign_in(client, f"u{n}@example.org", "wrong-password").status_code for n in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429
