"""Background timers of the embedded default (no Redis, so no rq scheduler).

Under ``flask worker`` rq's scheduler runs the periodic reconcile (each tick queues
the next one); a process without Redis runs it from a timer thread instead, started
with the first request it serves (the factory itself starts nothing) and stopped at
exit. Tests turn it off (PAYOUT_RECONCILE_TIMER=false) unless they ask for it.
"""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from core.jobs import InProcessJobQueue, JobSpec, PeriodicJob
from core.runtime import Runtime

log = logging.getLogger("kazi.background")

RECONCILE_JOB = "payouts.jobs.reconcile_tick"


def reconcile_timer(runtime: Runtime) -> PeriodicJob | None:
    """The embedded default's reconcile timer, or None where rq's scheduler or nothing runs it."""
    settings = runtime.settings
    if not isinstance(runtime.jobs, InProcessJobQueue):
        return None  # rq: `flask worker` schedules the ticks
    if not settings.payout_reconcile_timer or settings.payout_reconcile_minutes <= 0:
        return None
    # reschedule=False: the timer repeats it, so the tick must not queue its own successor.
    spec = JobSpec(RECONCILE_JOB, (False,), queue="payouts")
    return PeriodicJob(runtime.jobs, spec, settings.payout_reconcile_minutes * 60)


def start_with_first_request(app: Flask, runtime: Runtime) -> None:
    """Start the reconcile timer when the app serves its first request."""
    timer = reconcile_timer(runtime)
    if timer is None:
        return
    runtime.extras["reconcile_timer"] = timer

    @app.before_request
    def _start_timer() -> None:
        if not timer.running and timer.start():
            atexit.register(timer.stop)
            log.info("periodic reconcile every %s min", runtime.settings.payout_reconcile_minutes)
