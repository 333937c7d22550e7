"""A small key-value store with expiry: Redis in production, memory in the embedded default.

Flow sessions, the shared Daraja OAuth token and rate-limit counters live here, so
every process of a deployment sees the same values (Redis), while a laptop with no
services still runs the whole product (memory, one process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from redis import Redis


class KeyValueStore(Protocol):
    """What Kazi needs from a shared store: bytes under a key, optionally expiring."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None: ...

    def set_if_absent(self, key: str, value: bytes, ttl_seconds: float | None = None) -> bool:
        """Store only when the key is missing; True when this call stored it."""
        ...

    def delete(self, key: str) -> None: ...

    def incr(self, key: str, ttl_seconds: float | None = None) -> int:
        """Add one to a counter (created at 0); the expiry is set when it is created."""
        ...


class RedisStore:
    """The store on Redis, shared by every web and worker process."""

    def __init__(self, redis: Redis, prefix: str = "kazi:") -> None:
        self._redis = redis
        self._prefix = prefix

    def get(self, key: str) -> bytes | None:
        value = self._redis.get(self._prefix + key)
        if isinstance(value, str):
            # Kazi's clients keep redis-py's default, decode_responses=False: values are bytes.
            raise TypeError("RedisStore needs a Redis client with decode_responses=False")
        return value

    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        px = _millis(ttl_seconds)
        self._redis.set(self._prefix + key, value, px=px)

    def set_if_absent(self, key: str, value: bytes, ttl_seconds: float | None = None) -> bool:
        return bool(self._redis.set(self._prefix + key, value, px=_millis(ttl_seconds), nx=True))

    def delete(self, key: str) -> None:
        self._redis.delete(self._prefix + key)

    def incr(self, key: str, ttl_seconds: float | None = None) -> int:
        full = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.incr(full)
        if ttl_seconds is not None:
            # NX: the window starts with the first increment and is not extended by later ones.
            pipe.pexpire(full, _to_millis(ttl_seconds), nx=True)
        return int(pipe.execute()[0])


class MemoryStore:
    """The store in this process's memory, for the embedded default and pure tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at is not None and expires_at <= self._clock():
            del self._data[key]
            return None
        return value

    def _expiry(self, ttl_seconds: float | None) -> float | None:
        return None if ttl_seconds is None else self._clock() + ttl_seconds

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        with self._lock:
            self._data[key] = (value, self._expiry(ttl_seconds))

    def set_if_absent(self, key: str, value: bytes, ttl_seconds: float | None = None) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, self._expiry(ttl_seconds))
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def incr(self, key: str, ttl_seconds: float | None = None) -> int:
        with self._lock:
            current = self._live(key)
            if current is None:
                self._data[key] = (b"1", self._expiry(ttl_seconds))
                return 1
            count = int(current) + 1
            self._data[key] = (str(count).encode(), self._data[key][1])
            return count


def _millis(ttl_seconds: float | None) -> int | None:
    return None if ttl_seconds is None else _to_millis(ttl_seconds)


def _to_millis(seconds: float) -> int:
    # At least 1 ms: Redis refuses an expiry of 0 ("invalid expire time").
    return max(1, int(seconds * 1000))
