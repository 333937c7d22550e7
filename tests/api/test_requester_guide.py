"""docs/requester-guide.md works as written: its commands run against Kazi as `bin/run` serves it.

The same steps as `bin/run` (migrate, seed the demo, gunicorn on wsgi:app), then every
```bash block of the guide, in order, in one `bash -euo pipefail` with the demo
requester's key: a `curl -f` that gets an error status fails the script.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from config.settings import REPO_ROOT
from tests.kazi.test_health import free_port
from tests.test_serving import BIN, get, kazi_env

GUIDE = REPO_ROOT / "docs" / "requester-guide.md"
_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


def guide_script() -> str:
    """The guide's bash blocks, in order, as one script."""
    return "\n".join(_BLOCK.findall(GUIDE.read_text()))


@pytest.mark.skipif(shutil.which("jq") is None, reason="the guide uses jq")
def test_every_command_of_the_requester_guide_runs(tmp_path: Path) -> None:
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
    key = done.stdout.strip().splitlines()[-1].removeprefix("requester API key: ")
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--workers", "1",
         "--threads", "8", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(port)
        work = tmp_path / "requester"
        work.mkdir()
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", guide_script()],
            cwd=work,
            env={**env, "KEY": key, "KAZI": f"http://127.0.0.1:{port}"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert '"field": "task_type"' in out and "not ISO 639-1 language codes: english" in out
    assert '"external_id":"r-2"' in out  # the upload's ids
    assert '"status": "cancelled"' in out and '"amount": 450' in out  # 3 answers x KES 1.50
    assert "98 More" not in out and "1 Positive" in out
    assert '"row":1' in out  # the bad CSV row named


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            get(f"http://127.0.0.1:{port}/healthz")
            return
        except OSError:
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
