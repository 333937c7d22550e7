"""Job functions for the queue tests: importable, taking ids, like every real job."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs import pending_jobs
from core.runtime import current
from workers.models import Worker
from workers.notify import notice_text

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


def queued_notices(session: Session, worker_id: int, language: str = "en") -> list[str]:
    """The notices ``workers.jobs.notify`` will send this worker once the session commits."""
    return [
        notice_text(spec.args[1], language, spec.args[2])
        for spec in pending_jobs(session)
        if spec.func == "workers.jobs.notify" and spec.args[0] == worker_id
    ]
