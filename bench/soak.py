"""Soak: minutes of mixed USSD, SMS and API load on gunicorn with an rq worker (not in the suite).

``python -m bench.soak --minutes 10 --redis-url redis://127.0.0.1:6379/9`` creates a
throwaway PostgreSQL database (``KAZI_BENCH_POSTGRES_URL``), seeds a funded project of
tasks, registered workers and a requester, then serves it the production way:
``gunicorn -w 2 wsgi:app`` and ``flask worker``. Client threads play workers (dial,
take a task, answer it), send SMS (``BAL``) and call the API. It samples the resident
memory of every server process and counts every answer that is not a clean 200 (for
USSD: a screen that is the apology, or not ``CON``/``END``). The result replaces the
``## Soak`` section of docs/benchmarks.md. The Redis database given is flushed.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis

from bench import seed
from bench.harness import bench_database
from bench.serving import children, serving
from config.settings import REPO_ROOT
from core.secrets import hash_password
from gateway.conversation import text_for
from tasks.models import TaskStatus
from tasks.requesters import create_requester

OUTPUT = REPO_ROOT / "docs" / "benchmarks.md"
PIN = "1234"
WORKERS = 300
TASKS = 30_000


@dataclass
class Tally:
    """Requests and failures by kind, shared by the client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    def add(self, kind: str, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if not ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                if len(self.samples) < 10:
                    self.samples.append(f"{kind}: {detail[:120]}")


class Client:
    """One simulated phone or API caller talking HTTP to the server."""

    def __init__(self, base: str, api_key: str, tally: Tally) -> None:
        self.base, self.api_key, self.tally = base, api_key, tally
        self.apology = text_for("apology", "en")

    def _post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode()
        return self._open(urllib.request.Request(self.base + path, data))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except OSError as error:
            return 0, repr(error)

    def ussd(self, phone: str, session_id: str, text: str) -> str:
        form = {"sessionId": session_id, "serviceCode": "*384*12#", "phoneNumber": phone}
        status, body = self._post("/webhooks/africastalking/ussd", {**form, "text": text})
        clean = status == 200 and body.startswith(("CON ", "END ")) and self.apology not in body
        self.tally.add("ussd", clean, f"{status} {body}")
        return body

    def journey(self, phone: str) -> None:
        """Dial, take a task, answer it: three hops of one session."""
        session_id = f"ATUid_soak_{uuid.uuid4().hex}"
        dialled = self.ussd(phone, session_id, "").startswith("CON ")
        if dialled and self.ussd(phone, session_id, "1").startswith("CON "):
            self.ussd(phone, session_id, "1*1")

    def sms(self, phone: str) -> None:
        form = {"from": phone, "to": "22384", "text": "BAL", "id": f"ATXid_{uuid.uuid4().hex}"}
        form |= {"date": "2026-12-02 03:00:00", "linkId": uuid.uuid4().hex[:12]}
        status, body = self._post("/webhooks/africastalking/sms", form)
        self.tally.add("sms", status == 200, f"{status} {body}")

    def api(self) -> None:
        request = urllib.request.Request(self.base + "/api/v1/projects")
        request.add_header("Authorization", f"Bearer {self.api_key}")
        status, body = self._open(request)
        self.tally.add("api", status == 200, f"{status} {body}")


def rss_kib(pid: int) -> int:
    """Resident memory of one process in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def seed_world(url: str) -> str:
    """Tasks, registered workers with PIN 1234 and a requester; returns the API key."""
    from core.db import build_engine, build_sessionmaker

    engine = build_engine(url)
    with build_sessionmaker(engine).begin() as session:
        project = seed.project(session, budget_minor=TASKS * 3 * 100 * 2)
        seed.tasks(session, project.id, TASKS, status=TaskStatus.OPEN)
        seed.workers(session, WORKERS, pin_hash=hash_password(PIN))
        _, key = create_requester(session, "Soak requester")
    engine.dispose()
    return key


def run(minutes: float, threads: int, redis_url: str, say: object = print) -> dict[str, object]:
    """Serve, load, sample; the figures of one soak run."""
    checkout = hashlib.sha1(str(REPO_ROOT).encode()).hexdigest()[:6]
    Redis.from_url(redis_url).flushdb()
    with bench_database("postgresql", name=f"kazi_soak_{checkout}") as db:
        key = seed_world(db.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAZI_", "DATABASE_"))}
        env |= {"DATABASE_URL": db.url, "REDIS_URL": redis_url, "LOG_LEVEL": "warning"}
        with serving("wsgi:app", env, workers=2, rq_worker=True) as served:
            result = _load(served.base, key, served.master, served.others[0], minutes, threads)
            time.sleep(5)  # the rq worker answers the last SMS
        result["sms_replies"] = _replies(db.url)
        result["backlog"] = _backlog(redis_url)
        return result


def _backlog(redis_url: str) -> dict[str, int]:
    """Jobs still waiting in each rq queue when the load stopped (the worker's arrears)."""
    from rq import Queue

    from core.jobs import QUEUE_NAMES

    redis = Redis.from_url(redis_url)
    return {name: Queue(name, connection=redis).count for name in QUEUE_NAMES}


def _replies(url: str) -> int:
    """How many outbound SMS the rq worker sent (the BAL answers)."""
    from sqlalchemy import func, select

    from core.db import build_engine, build_sessionmaker
    from gateway.models import Direction, Message

    engine = build_engine(url)
    with build_sessionmaker(engine)() as session:
        query = select(func.count()).where(Message.direction == Direction.OUTBOUND)
        sent = session.scalar(query.where(Message.sent_at.is_not(None))) or 0
    engine.dispose()
    return sent


def _load(
    base: str, key: str, master: int, worker: int, minutes: float, threads: int
) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/readyz", timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.5)
    tally = Tally()
    stop = threading.Event()
    numbers = itertools.count()

    def play() -> None:
        client = Client(base, key, tally)
        while not stop.is_set():
            phone = seed.phone(next(numbers) % WORKERS)
            client.journey(phone)
            client.sms(phone)
            client.api()

    pool = [threading.Thread(target=play, daemon=True) for _ in range(threads)]
    started = time.monotonic()
    for thread in pool:
        thread.start()
    memory: list[tuple[float, int, int]] = []  # (seconds, gunicorn workers KiB, rq KiB)
    end = started + minutes * 60
    while time.monotonic() < end:
        time.sleep(min(15.0, max(0.0, end - time.monotonic())))
        web = sum(rss_kib(pid) for pid in children(master))
        memory.append((time.monotonic() - started, web, rss_kib(worker)))
    stop.set()
    for thread in pool:
        thread.join(timeout=60)
    elapsed = time.monotonic() - started
    return {
        "minutes": round(elapsed / 60, 1),
        "threads": threads,
        "counts": tally.counts,
        "errors": tally.errors,
        "error_samples": tally.samples,
        "requests_per_second": round(sum(tally.counts.values()) / elapsed, 1),
        "memory": memory,
    }


def render(result: dict[str, object]) -> str:
    """The ``## Soak`` section of docs/benchmarks.md."""
    counts: dict[str, int] = result["counts"]  # type: ignore[assignment]
    errors: dict[str, int] = result["errors"]  # type: ignore[assignment]
    memory: list[tuple[float, int, int]] = result["memory"]  # type: ignore[assignment]
    lines = [
        "## Soak",
        "",
        "Written by `python -m bench.soak` (not part of `bench/run`). gunicorn -w 2 and one rq",
        f"worker on PostgreSQL and Redis; {result['threads']} client threads, each looping a USSD",
        "journey (dial, take a task, answer: three hops), an SMS (`BAL`, answered by the rq",
        "worker) and an API call (`GET /api/v1/projects`). An error is any answer other than a",
        "clean 200 (for USSD: not `CON`/`END`, or the apology).",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"ran {result['minutes']} minutes; {result['requests_per_second']} requests/s; "
        f"{result['sms_replies']:,} SMS replies sent by the rq worker; still queued at the end: "
        + ", ".join(f"{n} {q}" for q, n in result["backlog"].items()),  # type: ignore[attr-defined]
        "",
        "| kind | requests | errors |",
        "|---|---:|---:|",
    ]
    for kind in ("ussd", "sms", "api"):
        lines.append(f"| {kind} | {counts.get(kind, 0):,} | {errors.get(kind, 0):,} |")
    lines += ["", "| minute | gunicorn workers RSS MiB | rq worker RSS MiB |", "|---:|---:|---:|"]
    for seconds, web, rq in memory:
        lines.append(f"| {seconds / 60:.1f} | {web / 1024:.1f} | {rq / 1024:.1f} |")
    samples: list[str] = result["error_samples"]  # type: ignore[assignment]
    if samples:
        lines += ["", "First errors:", ""] + [f"- `{s}`" for s in samples]
    return "\n".join(lines) + "\n"


def kept_section(page: str) -> str:
    """The ``## Soak`` section of an existing page ("" if none), for ``bench/run`` to keep."""
    _, marker, rest = page.partition("## Soak\n")
    return marker + rest.split("\n## ", 1)[0].rstrip("\n") + "\n" if marker else ""


def write_section(page: str, section: str) -> str:
    """``page`` with its ``## Soak`` section replaced by ``section`` (or appended)."""
    head, marker, rest = page.partition("## Soak\n")
    if not marker:
        return page.rstrip("\n") + "\n\n" + section
    tail = rest.split("\n## ", 1)
    after = "\n## " + tail[1] if len(tail) > 1 else ""
    return head + section + after


def main(argv: list[str] | None = None) -> int:
    """Run the soak and write its section of the benchmarks page."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis-url", required=True, help="a Redis database it may flush")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    result = run(args.minutes, args.threads, args.redis_url)
    print(json.dumps({k: v for k, v in result.items() if k != "memory"}), file=sys.stderr)
    page = args.output.read_text() if args.output.exists() else "# Benchmarks\n"
    args.output.write_text(write_section(page, render(result)))
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
