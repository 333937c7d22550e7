"""The embedded default served by two gunicorn processes (``gunicorn -w 2``) and restarted.

Without Redis the flow states and resume points live in the database, so it does not
matter which process takes a hop, and a restart forgets nothing. Every hop goes over
real HTTP to the real USSD webhook, as Africa's Talking would send it.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import build_engine, build_sessionmaker
from core.journal import JournalledJob
from tests.gateway.journeys import GOLD, PIN, TASKS, quiz_key, t
from tests.payouts.factories import wait_until
from tests.support.served import HttpHandset, Server, serving
from workers.models import Worker

JOURNEYS = 6


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    with serving(tmp_path) as running:
        yield running


def register(server: Server, phone: str) -> list[str]:
    """The whole registration journey: language, task languages, terms, PIN twice, the
    impact baseline skipped, the quiz answered right."""
    handset = HttpHandset(server, phone)
    handset.dial()
    for key in ("1", "1", "1", PIN, PIN):
        handset.press(key)
    body = handset.press("2")
    for _ in range(len(GOLD)):
        body = handset.press(quiz_key(body))
    return handset.screens


def test_concurrent_registrations_on_two_processes_stay_consistent(
    served: tuple[Server, str],
) -> None:
    server, url = served
    phones = [f"+2547220100{n:02d}" for n in range(JOURNEYS)]
    with ThreadPoolExecutor(max_workers=JOURNEYS) as pool:
        journeys = list(pool.map(lambda phone: register(server, phone), phones))
    for screens in journeys:
        assert screens[2].startswith("CON ") and t("reg.accept", "en") in screens[2], screens
        assert t("reg.pin_again", "en") in screens[4], screens
        # Five different quiz questions, drawn at random, each once.
        assert t("survey.baseline_offer", "en") in screens[5], screens
        asked = [next(q for q in GOLD if q in screen) for screen in screens[6:11]]
        assert sorted(asked) == sorted(GOLD), screens
        assert t("quiz.passed", "en") in screens[11], screens
    engine = build_engine(url)
    try:
        with build_sessionmaker(engine)() as session:
            workers = list(session.scalars(select(Worker).where(Worker.msisdn.in_(phones))))
    finally:
        engine.dispose()
    assert len(workers) == JOURNEYS
    assert all(w.consented_at and w.registered_at and w.qualified_at for w in workers)
    # Each journey queued its welcome SMS in whichever process took the hop; each ran
    # there and was struck off the job journal.
    wait_until(lambda: journalled(url) == 0)


def journalled(url: str) -> int:
    engine = build_engine(url)
    try:
        with build_sessionmaker(engine)() as session:
            return session.scalar(select(func.count()).select_from(JournalledJob)) or 0
    finally:
        engine.dispose()


def test_a_restart_mid_journey_resumes_the_task_in_hand(served: tuple[Server, str]) -> None:
    server, _ = served
    phone = "+254722010099"
    register(server, phone)
    handset = HttpHandset(server, phone)
    handset.dial()
    assert TASKS[0] in handset.press("1")
    server.stop()
    server.start()
    body = handset.dial()  # the call dropped while the server restarted
    assert body.startswith("CON " + t("task.resumed", "en")) and TASKS[0] in body, body
    assert TASKS[1] in handset.press("1")  # the answer lands on the resumed task
