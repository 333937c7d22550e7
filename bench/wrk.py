"""wrk (https://github.com/wg/wrk) walking whole USSD sessions with bench/ussd_sessions.lua,
and what it saw, for the HTTP load benchmark."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("ussd_sessions.lua")


@dataclass(frozen=True)
class WrkResult:
    """What wrk and the Lua script saw in one run."""

    seconds: float
    hops: int
    answered: int
    saved: int
    bad: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    first_bad: str

    @property
    def hops_per_second(self) -> float:
        return self.hops / self.seconds if self.seconds > 0 else 0.0


def ensure_wrk() -> str:
    """The wrk binary, installed with apt-get when missing (Debian's package is named wrk)."""
    found = shutil.which("wrk")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def run_wrk(
    base: str,
    path: str,
    *,
    sessions: int,
    seconds: int,
    workers: int,
    answers: int,
    prefix: str,
) -> WrkResult:
    """wrk with one thread per connection walking sessions on ``path`` for ``seconds``."""
    command = [ensure_wrk(), "-t", str(sessions), "-c", str(sessions), "-d", f"{seconds}s"]
    # A hop slower than wrk's default 2 s is slow, not lost: count it, do not drop it.
    command += ["--timeout", "60s", "-s", str(SCRIPT), base + path, "--"]
    command += [path, str(workers), str(sessions), str(answers), prefix]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("ussd-sessions "):
            data = json.loads(line.removeprefix("ussd-sessions "))
            # The Lua script's done() prints exactly WrkResult's fields (ussd_sessions.lua).
            return WrkResult(**{f.name: data[f.name] for f in dataclasses.fields(WrkResult)})
    raise RuntimeError(f"wrk printed no result: {done.stdout[-1000:]} {done.stderr[-1000:]}")
