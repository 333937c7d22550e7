"""Serving an app the production way for a benchmark: gunicorn with the shipped config
(and an rq worker), up and answering, and the CPU its processes and the database used.

Shared by the HTTP load and the outbound SMS benchmarks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import text

from bench.harness import BenchDatabase
from config.settings import REPO_ROOT

BIN = Path(sys.executable).parent
#: The Redis database the benchmarks flush and use (KAZI_BENCH_REDIS_URL overrides it).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (gunicorn's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class Served:
    """A running server: where it answers, and its processes (for their CPU time)."""

    base: str
    master: int
    others: list[int]  # the rq worker, when there is one

    def app_cpu(self) -> float:
        """CPU seconds used so far by gunicorn (master and workers) and the rq worker's jobs."""
        pids = [self.master, *children(self.master)]
        # rq runs each job in a forked work horse: its time lands in the worker's children's.
        return sum(cpu_seconds(pid) for pid in pids) + sum(
            cpu_seconds(pid, with_children=True) for pid in self.others
        )


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU seconds of a process (0 once it is gone), from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command: state is field 3, utime/stime 14/15, cutime/cstime 16/17 (proc(5)).
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def database_cpu(db: BenchDatabase) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this database (SQLite: none)."""
    if db.kind != "postgresql":
        return {}
    with db.engine.connect() as connection:
        pids = connection.scalars(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    return {int(pid): cpu_seconds(int(pid)) for pid in pids}


@contextmanager
def serving(
    app: str, env: dict[str, str], *, workers: int, threads: int = 1, rq_worker: bool = False
) -> Iterator[Served]:
    """gunicorn with the shipped config serving ``app`` (and an rq worker), up and answering."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--workers", str(workers)]
    if threads > 1:
        command += ["--threads", str(threads)]
    command += ["--bind", f"127.0.0.1:{port}", app]
    with tempfile.TemporaryFile() as log:
        processes = [
            subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        ]
        if rq_worker:
            processes.append(
                subprocess.Popen(
                    [str(BIN / "flask"), "--app", "wsgi", "worker"],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        try:
            _wait_until_up(f"http://127.0.0.1:{port}", processes[0], log)
            yield Served(
                f"http://127.0.0.1:{port}", processes[0].pid, [p.pid for p in processes[1:]]
            )
        finally:
            stop(processes)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the processes (SIGTERM: gunicorn and rq finish what they hold), then reap them."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(base: str, server: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    # Four workers importing the app on a busy 2-core machine take tens of seconds.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            # Any HTTP answer means gunicorn's workers are taking requests.
            urllib.request.urlopen(base + "/", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    log.seek(0)
    tail = log.read()[-2000:].decode(errors="replace")
    raise RuntimeError(f"gunicorn did not start: {tail}")
