"""CPU per USSD hop kind in one web process, and where it goes (pyinstrument).

Run by hand (``python -m bench.profile_hops``), not by ``bench/run``: it is the
profile issue 13 asks for before and after a change to the hot path. Registered
workers walk whole sessions (menu, get a task, answers) through the real Africa's
Talking webhook of one Flask app (test client, no network) on PostgreSQL, with Redis
and rq as production has them (the jobs are queued, not run). CPU is this process's
own (``time.process_time``), so the database's work is left out and a busy machine
inflates it less than wall time.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

from redis import Redis

from bench import seed
from bench.harness import bench_database, checkout_database
from bench.http_load import HttpScale, seed_world
from config.settings import Settings
from kazi.app import create_app

TOKEN = "bench-profile-at-token-0123456789"
URL = f"/webhooks/africastalking/ussd?token={TOKEN}"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--answers", type=int, default=5)
    parser.add_argument("--workers", type=int, default=20_000, help="registered workers seeded")
    parser.add_argument("--tasks", type=int, default=60_000, help="open tasks seeded")
    parser.add_argument("--statements", action="store_true", help="time each SQL statement")
    parser.add_argument("--profile", action="store_true", help="print pyinstrument's tree")
    parser.add_argument("--cprofile", action="store_true", help="print cProfile's top functions")
    args = parser.parse_args()
    redis_url = os.environ.get("KAZI_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    Redis.from_url(redis_url).flushdb()
    scale = HttpScale(workers=max(args.sessions, args.workers), tasks=args.tasks)
    with bench_database("postgresql", name=checkout_database("kazi_profile")) as db:
        seed_world(db, scale)
        settings = replace(
            Settings(),
            database_url=db.url,
            redis_url=redis_url,
            at_webhook_token=TOKEN,
            secret_key="bench-profile-" + "x" * 32,
            payout_reconcile_timer=False,
        )
        app = create_app(settings)
        client = app.test_client()
        timings: dict[str, list[float]] = defaultdict(list)
        if args.statements:
            time_statements(app.extensions["kazi"].engine, timings)
        cpu: dict[str, list[float]] = defaultdict(list)
        profiler: Any = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
        elif args.cprofile:
            import cProfile

            profiler = CProfiler(cProfile.Profile(time.process_time))
        rng = random.Random(3)
        for n in range(args.sessions):
            phone = seed.phone(rng.randrange(scale.workers))
            inputs: list[str] = []
            for kind in ["menu", "get task"] + ["answer"] * args.answers:
                form = {
                    "sessionId": f"profile-{n}",
                    "serviceCode": "*384*12#",
                    "phoneNumber": phone,
                    "networkCode": "63902",
                    "text": "*".join(inputs),
                }
                warm = n >= 5  # the first sessions fill caches and pools
                if profiler is not None and warm and kind == "answer":
                    profiler.start()
                began = time.process_time()
                body = client.post(URL, data=form).get_data(as_text=True)
                spent = time.process_time() - began
                if profiler is not None and profiler.is_running:
                    profiler.stop()
                if warm:
                    cpu[kind].append(spent)
                if not body.startswith("CON "):
                    raise SystemExit(f"{kind}: {body[:120]}")
                inputs.append("1")
        for kind, times in cpu.items():
            times.sort()
            print(
                f"{kind:9} n={len(times):4} CPU ms/hop mean {1000 * sum(times) / len(times):6.2f}"
                f"  p50 {1000 * times[len(times) // 2]:6.2f}"
            )
        for statement, took in sorted(timings.items(), key=lambda kv: -sum(kv[1])):
            print(f"{1000 * sum(took) / len(took):7.2f} ms x{len(took):5}  {statement}")
        if profiler is not None:
            print(profiler.output_text(unicode=True, color=False, show_all=False))
    Redis.from_url(redis_url).flushdb()


def time_statements(engine: Any, timings: dict[str, list[float]]) -> None:
    """Wall time of each statement (the round trip: the database's work and the wire), by
    its first 90 characters."""
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        took = time.perf_counter() - conn.info.pop("started", time.perf_counter())
        timings[" ".join(statement.split())[:90]].append(took)


class CProfiler:
    """cProfile behind pyinstrument's start/stop/output_text."""

    def __init__(self, profile: Any) -> None:
        self.profile, self.is_running = profile, False

    def start(self) -> None:
        self.profile.enable()
        self.is_running = True

    def stop(self) -> None:
        self.profile.disable()
        self.is_running = False

    def output_text(self, **_: Any) -> str:
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(self.profile, stream=out)
        stats.sort_stats("tottime").print_stats(45)
        stats.sort_stats("cumulative").print_stats(60)
        return out.getvalue()


if __name__ == "__main__":
    main()
