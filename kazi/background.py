"""Background timers of the embedded default (no Redis, so no rq scheduler).

Under ``flask worker`` rq's scheduler runs the periodic chores (each tick queues the
next one): the payout reconcile and the reservation sweep. A process without Redis
runs them from timer threads instead, started with the first request it serves (the
factory itself starts nothing) and stopped at exit. Tests turn them off
(PAYOUT_RECONCILE_TIMER=false, RESERVATION_SWEEP_SECONDS=0) unless they ask for them.
"""

from __future__ import annotations

import atexit
import logging

from flask import Flask

from core.jobs import InProcessJobQueue, JobSpec, PeriodicJob
from core.runtime import Runtime

log = logging.getLogger("kazi.background")

RECONCILE_JOB = "payouts.jobs.reconcile_tick"
SWEEP_JOB = "tasks.jobs.expire_reservations"


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


def sweep_timer(runtime: Runtime) -> PeriodicJob | None:
    """The embedded default's reservation sweep, or None where rq's scheduler or nothing runs it."""
    seconds = runtime.settings.reservation_sweep_seconds
    if not isinstance(runtime.jobs, InProcessJobQueue) or seconds <= 0:
        return None
    return PeriodicJob(runtime.jobs, JobSpec(SWEEP_JOB, (False,)), seconds)


def start_with_first_request(app: Flask, runtime: Runtime) -> None:
    """Start the timers when the app serves its first request."""
    timers = {"reconcile_timer": reconcile_timer(runtime), "sweep_timer": sweep_timer(runtime)}
    started = {name: timer for name, timer in timers.items() if timer is not None}
    if not started:
        return
    runtime.extras.update(started)

    @app.before_request
    def _start_timers() -> None:
        for name, timer in started.items():
            if not timer.running and timer.start():
                atexit.register(timer.stop)
                log.info("%s started", name.replace("_", " "))
