"""A per-channel send rate shared by every worker process, counted in the key-value store.

Providers contract a throughput per channel (sender id, number, account) and count it
in SMS *segments*: a three-part message uses three of the second's slots. So a send
acquires one slot per segment (``core.medium.count_segments``, the same count stored
on the message and used by the flows' SMS rendering). Each rq worker process sends independently, so the count lives in the
shared store (Redis in production): a fixed window of about one second whose counter
every process increments before it sends. A caller over the limit waits for the next
window instead of failing, so a broadcast slows down rather than erroring out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.kvstore import KeyValueStore


@dataclass(frozen=True, slots=True)
class Permit:
    """The window a send was allowed in (used by tests and logs)."""

    window: int
    position: int


class RateLimiter:
    """At most ``rate`` segments per second on one channel, across processes sharing ``store``."""

    def __init__(
        self,
        store: KeyValueStore,
        channel: str,
        rate: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be greater than 0")
        # A rate under 1/s (0.5) becomes one send per two-second window; above it,
        # whole sends per one-second window.
        self._window = max(1.0, 1.0 / rate)
        self._limit = max(1, math.floor(rate * self._window))
        self._store = store
        self._channel = channel
        self._clock = clock
        self._sleep = sleep

    def acquire(self, segments: int = 1, timeout: float = 60.0) -> Permit:
        """Wait until ``segments`` slots are granted; raise TimeoutError past ``timeout``.

        Slots are taken one at a time, so a message longer than one window's limit
        spreads over several windows instead of never fitting. The permit returned is
        the last slot's.
        """
        if segments < 1:
            raise ValueError("segments must be at least 1")
        deadline = self._clock() + timeout
        permit = self._slot(deadline, timeout)
        for _ in range(segments - 1):
            permit = self._slot(deadline, timeout)
        return permit

    def _slot(self, deadline: float, timeout: float) -> Permit:
        while True:
            now = self._clock()
            window = int(now // self._window)
            # The wall clock (not a monotonic one) is what processes on one host share;
            # the key expires shortly after its window so Redis holds a handful of keys.
            key = f"sms-rate:{self._channel}:{window}"
            position = self._store.incr(key, ttl_seconds=self._window * 2 + 1)
            if position <= self._limit:
                return Permit(window, position)
            wait = (window + 1) * self._window - now
            if now + wait > deadline:
                raise TimeoutError(f"sms rate limit on {self._channel}: no slot in {timeout}s")
            self._sleep(wait + 0.001)
