"""A redis-server of the test's own on a fixed port, which the test may stop and start again."""

from __future__ import annotations

import shutil
import subprocess
import time

from redis import Redis

from tests.kazi.test_health import free_port


class RedisServer:
    """``redis-server --port X``: stopping it is Redis going down; starting it, Redis coming back."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed: run the tests through bin/test")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30  # an upper bound for a loaded machine
        client = Redis.from_url(self.url)
        while True:
            try:
                if client.ping():
                    client.close()
                    return
            except Exception:
                assert self.process.poll() is None, "redis-server exited (port taken?)"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
