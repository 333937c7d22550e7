"""Fixed-window counters in the shared key-value store: how often one key may do something.

Abuse limits (USSD hops and inbound SMS per phone number, sign-in failures per
address) count in the store every process shares (Redis in production), one key per
window that expires after it. A store that fails lets the request through, logged:
these limits protect us from floods, and must not lock honest workers out of their
only channel when Redis is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from core.kvstore import KeyValueStore

log = logging.getLogger("kazi.throttle")


class WindowLimit:
    """At most ``limit`` hits per ``window_seconds`` for each key; a limit of 0 is off."""

    def __init__(
        self,
        store: KeyValueStore,
        scope: str,
        limit: int,
        window_seconds: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._scope = scope
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock

    def hit(self, key: str) -> bool:
        """Count one hit for ``key``; True while it is within the limit."""
        if self.limit <= 0:
            return True
        window = int(self._clock() // self.window_seconds)
        try:
            count = self._store.incr(
                f"throttle:{self._scope}:{key}:{window}", ttl_seconds=self.window_seconds * 2
            )
        except Exception:  # noqa: BLE001 - any store failure: fail open, see the docstring
            log.warning("throttle %s: store unavailable, not limiting", self._scope, exc_info=True)
            return True
        if count == self.limit + 1:
            log.warning(
                "throttle %s: %s over %s per %gs", self._scope, key, self.limit, self.window_seconds
            )
        return count <= self.limit
