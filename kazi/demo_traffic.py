"""The demo's first traffic: phones dialling and texting through the real webhooks, a
welcome broadcast, and the console provider's delivery reports, so a new user's
dashboard is filled after ``bin/run`` (``CONSOLE_SMS_REPORTS``, which it sets).

Everything goes through the paths real traffic takes: ``SimulatedPhone`` posts AT's
forms to the USSD and SMS webhooks (with their end-of-session notices), the broadcast
queues through ``gateway.broadcast``, and each SMS the console provider sends is priced
and reported on through ``/webhooks/console/sms/delivery``. It runs once, on a
database that has no messages yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import func, select

from core.jobs import InProcessJobQueue
from core.runtime import Runtime
from gateway.broadcast import run_broadcast
from gateway.jobs import sms_provider
from gateway.models import Message
from gateway.providers.console import ConsoleProvider
from gateway.simulated_phone import SimulatedPhone

#: Newcomers who dial and leave at a registration screen (they fill the funnel's top).
NEWCOMERS = tuple(f"+2547110090{n:02d}" for n in range(1, 9))
#: What each newcomer presses before hanging up: nothing, a language, then the terms.
NEWCOMER_KEYS: tuple[tuple[str, ...], ...] = ((), ("1",), ("2",), ("1", "1"))
WELCOME = "Welcome to the Kazi demo: dial *384*12# for paid tasks, or text BAL for your balance."


@dataclass(frozen=True)
class Traffic:
    """What the demo traffic played."""

    ussd_sessions: int
    sms_in: int
    broadcast: int
    reports: int


def play_demo_traffic(app: Flask, worker_phones: list[str]) -> Traffic | None:
    """Play the demo's first traffic; None when it is off or has already run."""
    runtime: Runtime = app.extensions["kazi"]
    if not runtime.settings.console_sms_reports or runtime.settings.sms_provider != "console":
        return None
    with runtime.sessions() as session:
        if session.scalar(select(func.count(Message.id))):
            return None
    sessions = 0
    for phone in worker_phones:
        handset = SimulatedPhone(app, phone)
        handset.dial()
        handset.press("2")  # their earnings
        handset.hang_up()
        handset.sms("BAL")
        sessions += 1
    for i, phone in enumerate(NEWCOMERS):
        handset = SimulatedPhone(app, phone)
        handset.dial()
        for key in NEWCOMER_KEYS[i % len(NEWCOMER_KEYS)]:
            handset.press(key)
        handset.hang_up()
        sessions += 1
    sent = run_broadcast(runtime.sessions, body=WELCOME, provider=runtime.settings.sms_provider)
    _run_jobs(runtime)
    provider = sms_provider(runtime)
    reports = provider.flush_reports() if isinstance(provider, ConsoleProvider) else 0
    _run_jobs(runtime)
    return Traffic(sessions, len(worker_phones), sent.recipients, reports)


def _run_jobs(runtime: Runtime) -> None:
    # Embedded queue: its runner is a daemon thread, so wait for it before the command ends.
    if isinstance(runtime.jobs, InProcessJobQueue):
        runtime.jobs.drain(timeout=30)
