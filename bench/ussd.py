"""USSD hop latency through the real Flask app, the way Africa's Talking calls it."""

from __future__ import annotations

import random
from dataclasses import replace

from werkzeug.test import TestResponse

from bench import seed
from bench.harness import BenchDatabase, Row, Table, measure, row_from
from config.settings import Settings
from kazi.app import create_app

TOKEN = "bench-at-token-0123456789"
# Any werkzeug hash: the USSD benchmark never checks it, it only marks workers registered.
PIN_HASH = "scrypt:32768:8:1$bench$" + "0" * 64
URL = f"/webhooks/africastalking/ussd?token={TOKEN}"


def _form(session_id: str, phone: str, text: str) -> dict[str, str]:
    # The fields Africa's Talking posts on every hop (text accumulates the inputs).
    return {
        "sessionId": session_id,
        "serviceCode": "*384*12#",
        "phoneNumber": phone,
        "networkCode": "63902",
        "text": text,
    }


def run(db: BenchDatabase, *, sizes: list[int], hops: int, max_seconds: float) -> list[Row]:
    """First dial (main menu) and "2 My earnings" (a ledger read), timed at each database size."""
    # No reconcile timer: a benchmark process measures requests, not background chores.
    settings = replace(
        Settings(),
        database_url=db.url,
        at_webhook_token=TOKEN,
        secret_key="bench-" + "x" * 32,
        payout_reconcile_timer=False,
    )
    app = create_app(settings)
    client = app.test_client()
    rng = random.Random(7)
    rows: list[Row] = []
    seeded = 0
    try:
        for size in sizes:
            with db.sessions.begin() as session:
                # Registered workers (PIN set), as most dialling workers are.
                ids = seed.workers(session, size - seeded, start=seeded, pin_hash=PIN_HASH)
                seed.ussd_sessions(session, ids, start=seeded)
            seeded = size
            db.analyze()
            phones = [seed.phone(rng.randrange(size)) for _ in range(hops + 1)]
            label = f"{size:,} workers"

            def dial(i: int, label: str = label, phones: list[str] = phones) -> None:
                response = client.post(URL, data=_form(f"bench-{label}-{i}", phones[i], ""))
                _check(response, "CON ")
                if "1" not in response.get_data(as_text=True):  # the numbered main menu
                    raise RuntimeError("first dial did not show the main menu")

            def hop(i: int, label: str = label, phones: list[str] = phones) -> None:
                response = client.post(URL, data=_form(f"bench-{label}-{i}", phones[i], "2"))
                _check(response, "CON ")
                if "KES" not in response.get_data(as_text=True):  # the balance screen
                    raise RuntimeError(
                        f"the earnings hop did not show a balance: {response.get_data(as_text=True)!r}"
                    )

            dials = measure(dial, n=hops, max_seconds=max_seconds, warmup=1)
            menu = measure(hop, n=len(dials), max_seconds=max_seconds, warmup=1)
            rows.append(row_from(db.kind, f"{label}: first dial", dials, unit="hops/s"))
            rows.append(row_from(db.kind, f"{label}: earnings hop", menu, unit="hops/s"))
    finally:
        app.extensions["kazi"].engine.dispose()
    return rows


def _check(response: TestResponse, prefix: str) -> None:
    body = response.get_data(as_text=True)
    if response.status_code != 200 or not body.startswith(prefix):
        raise RuntimeError(f"unexpected USSD answer {response.status_code}: {body!r}")


def table() -> Table:
    """The empty table this benchmark fills."""
    return Table(
        "USSD hop latency",
        "POST /webhooks/africastalking/ussd through the Flask app (test client, no network), "
        "existing workers dialling: the first dial, then the menu hop on the same session. "
        "Dataset: workers and one past USSD session each. Africa's Talking allows ~15 s per hop.",
    )
