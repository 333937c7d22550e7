"""Job functions for the queue tests: importable, taking ids, like every real job."""

from __future__ import annotations

from sqlalchemy import select

from core.runtime import current
from workers.models import Worker

FLAKY_ATTEMPTS: dict[str, int] = {}


def record_worker_language(worker_id: int, key: str) -> None:
    """Read a committed worker row and note its language in the shared store under ``key``."""
    runtime = current()
    with runtime.sessions() as session:
        worker = session.scalars(select(Worker).where(Worker.id == worker_id)).one()
    runtime.store.set(key, worker.language.encode())


def fail_then_succeed(key: str, failures: int) -> None:
    """Fail ``failures`` times (counted in the store), then record success."""
    runtime = current()
    attempt = runtime.store.incr(f"{key}:attempts")
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} fails on purpose")
    runtime.store.set(key, b"done")
