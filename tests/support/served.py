"""Kazi served as a deployer runs it: ``gunicorn -w 2 wsgi:app`` on the embedded default,
with a phone that posts AT-shaped USSD hops to it over real HTTP."""

from __future__ import annotations

import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import REPO_ROOT
from core.db import build_engine, build_sessionmaker
from core.migrate import upgrade
from tests.gateway.journeys import GOLD, REWARD, TASKS
from tests.kazi.test_health import free_port
from tests.tasks import factories
from tests.test_serving import BIN, get, kazi_env


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


@contextmanager
def serving(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A migrated SQLite database with tasks and a quiz, served by ``gunicorn -w 2``."""
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
    try:
        yield server, url
    finally:
        server.stop()
