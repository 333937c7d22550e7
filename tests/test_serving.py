"""The production path end to end: the real `flask` CLI, then gunicorn serving wsgi:app."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from config.settings import REPO_ROOT
from tests.kazi.test_health import free_port

BIN = Path(sys.executable).parent


def kazi_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KAZI_", "DATABASE_", "REDIS_"))
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'kazi.db'}"
    return env


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def test_cli_migrates_seeds_and_gunicorn_serves(tmp_path: Path) -> None:
    env = kazi_env(tmp_path)
    for command in (["db", "upgrade"], ["demo"]):
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *command],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("requester API key: kz_")

    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert (status, body) == (200, b'{"status":"ok"}\n')
        assert get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
