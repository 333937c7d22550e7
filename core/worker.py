"""The rq worker process: one runtime for the process, fork-safe, with rq's scheduler."""

from __future__ import annotations

from collections.abc import Sequence

from rq import Worker

from core.jobs import QUEUE_NAMES
from core.runtime import Runtime, install


def run_worker(
    runtime: Runtime, queues: Sequence[str] = QUEUE_NAMES, *, burst: bool = False
) -> bool:
    """Work the named queues (in priority order) until stopped, or until empty with burst."""
    if runtime.redis is None:
        raise RuntimeError("REDIS_URL: required for rq workers")
    install(runtime)
    worker = Worker(list(queues), connection=runtime.redis)
    # The scheduler moves delayed jobs and rq retries with intervals onto their queues.
    return worker.work(burst=burst, with_scheduler=True)
