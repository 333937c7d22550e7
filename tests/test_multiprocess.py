"""The embedded default served by two gunicorn processes (``gunicorn -w 2``) and restarted.

Without Redis the flow states and resume points live in the database, so it does not
matter which process takes a hop, and a restart forgets nothing. Every hop goes over
real HTTP to the real USSD webhook, as Africa's Talking would send it.
"""

from __future__ import annotations

import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import REPO_ROOT
from core.db import build_engine, build_sessionmaker
from core.migrate import upgrade
from tests.gateway.journeys import GOLD, PIN, REWARD, RIGHT_KEYS, TASKS, t
from tests.kazi.test_health import free_port
from tests.tasks import factories
from tests.test_serving import BIN, get, kazi_env
from workers.models import Worker

JOURNEYS = 6


class Server:
    """``gunicorn -w 2 wsgi:app`` on the embedded default (SQLite, no Redis)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--workers", "2"]
        command += ["--bind", f"127.0.0.1:{self.port}", "wsgi:app"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=self.env, stdout=out, stderr=out
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(self.url("/readyz"))[0] == 200:
                    return
            except OSError:
                pass
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass
class HttpHandset:
    """A phone whose hops go to the server over HTTP (AT's form, ``*``-joined text)."""

    server: Server
    phone: str
    session_id: str = ""
    text: str = ""
    screens: list[str] = field(default_factory=list)

    def dial(self) -> str:
        self.session_id, self.text = f"ATUid_{uuid.uuid4().hex}", ""
        return self._hop()

    def press(self, value: str) -> str:
        self.text = f"{self.text}*{value}" if self.text else value
        return self._hop()

    def _hop(self) -> str:
        form = {
            "sessionId": self.session_id,
            "serviceCode": "*384*12#",
            "phoneNumber": self.phone,
            "networkCode": "63902",
            "text": self.text,
        }
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.server.url("/webhooks/africastalking/ussd"), data)
        with urllib.request.urlopen(request, timeout=30) as response:
            body: str = response.read().decode()
        self.screens.append(body)
        return body


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    env = kazi_env(tmp_path)
    url = env["DATABASE_URL"]
    upgrade(url)
    engine = build_engine(url)
    with build_sessionmaker(engine).begin() as session:
        owner, _ = factories.requester(session)
        common: dict[str, Any] = {"reward": REWARD, "languages": ["en", "sw", "fr"]}
        factories.project(session, owner, texts=TASKS, priority=1, **common)
        factories.project(session, owner, name="Quiz", gold=GOLD, **common)
    engine.dispose()
    server = Server(env, tmp_path / "gunicorn.log")
    server.start()
    yield server, url
    server.stop()


def register(server: Server, phone: str) -> list[str]:
    """The whole registration journey: language, terms, PIN twice, the three-question quiz."""
    handset = HttpHandset(server, phone)
    handset.dial()
    for key in ("1", "1", PIN, PIN, *RIGHT_KEYS):
        handset.press(key)
    return handset.screens


def test_concurrent_registrations_on_two_processes_stay_consistent(
    served: tuple[Server, str],
) -> None:
    server, url = served
    phones = [f"+2547220100{n:02d}" for n in range(JOURNEYS)]
    with ThreadPoolExecutor(max_workers=JOURNEYS) as pool:
        journeys = list(pool.map(lambda phone: register(server, phone), phones))
    for screens in journeys:
        assert screens[1].startswith("CON ") and t("reg.accept", "en") in screens[1], screens
        assert t("reg.pin_again", "en") in screens[3], screens
        assert "Gold one" in screens[4] and "Gold two" in screens[5], screens
        assert "Gold three" in screens[6], screens
        assert t("quiz.passed", "en") in screens[7], screens
    engine = build_engine(url)
    try:
        with build_sessionmaker(engine)() as session:
            workers = list(session.scalars(select(Worker).where(Worker.msisdn.in_(phones))))
    finally:
        engine.dispose()
    assert len(workers) == JOURNEYS
    assert all(w.consented_at and w.registered_at and w.qualified_at for w in workers)


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
