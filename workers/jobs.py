"""rq entry points of the workers domain: thin functions taking ids."""

from __future__ import annotations

import logging
from typing import Any

from core.runtime import current
from workers.models import Worker
from workers.notify import channel_of, notice_text
from workers.services import speaks

log = logging.getLogger("kazi.workers.jobs")


def notify(worker_id: int, key: str, values: dict[str, Any]) -> None:
    """Send the worker the catalog notice ``key`` with ``values``, in their language."""
    runtime = current()
    with runtime.sessions.begin() as session:
        worker = session.get(Worker, worker_id)
        if worker is None or worker.erased_at is not None:
            log.warning("notice %s for unknown or erased worker %s dropped", key, worker_id)
            return
        text = notice_text(key, speaks(worker), values)
        channel_of(runtime).send_text(session, worker=worker, text=text)
