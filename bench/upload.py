"""Task upload: 10,000 rows through the requester API, all validated and stored in one request."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from flask.testing import FlaskClient

from bench.harness import BenchDatabase, Row, Table, measure, row_from
from bench.seed import count, fund
from config.settings import Settings
from core.money import Money
from kazi.app import create_app
from tasks.models import Task
from tasks.requesters import create_requester

PROJECT: dict[str, Any] = {
    "name": "Shop reviews",
    "task_type": "single_choice",
    "instructions": "Is this review positive?",
    "options": ["Positive", "Negative", "Neutral"],
    "reward": {"amount": 150, "currency": "KES"},
    "answers_per_task": 3,
    "gold_rate": 0.1,
    "languages": ["en", "sw"],
    "countries": ["KE"],
    "budget": {"amount": 5_000_000, "currency": "KES"},
}


def _rows(count: int) -> bytes:
    rows = [
        {
            "text": f"Review {i}: huduma ilikuwa nzuri sana, the food came quickly.",
            "external_id": f"r-{i}",
            **({"gold_answer": "Positive"} if i % 10 == 0 else {}),
        }
        for i in range(count)
    ]
    return json.dumps(rows).encode()


def run(db: BenchDatabase, *, rows: int, repeats: int, max_seconds: float) -> list[Row]:
    """POST ``rows`` tasks as JSON to a new project, ``repeats`` times; seconds per upload."""
    # No reconcile timer: a benchmark process measures requests, not background chores.
    settings = replace(
        Settings(),
        database_url=db.url,
        secret_key="bench-" + "x" * 32,
        payout_reconcile_timer=False,
    )
    app = create_app(settings)
    client = app.test_client()
    with db.sessions.begin() as session:
        requester, key = create_requester(session, "Bench requester")
        budget = PROJECT["budget"]
        fund(session, requester.id, Money(budget["amount"] * repeats, budget["currency"]))
    auth = {"Authorization": f"Bearer {key}"}
    body = _rows(rows)
    try:
        projects = [_create_project(client, auth) for _ in range(repeats)]

        def upload(i: int) -> None:
            response = client.post(
                f"/api/v1/projects/{projects[i]}/tasks",
                data=body,
                headers={**auth, "Content-Type": "application/json"},
            )
            answer = response.get_json(silent=True) or {}
            if response.status_code != 201 or answer.get("created") != rows:
                raise RuntimeError(f"upload failed: {response.get_data(as_text=True)[:300]}")

        samples = measure(upload, n=repeats, max_seconds=max_seconds)
    finally:
        app.extensions["kazi"].engine.dispose()
    with db.sessions() as session:
        stored = count(session, Task)
    if stored != rows * len(samples):
        raise RuntimeError(f"{stored} tasks stored, expected {rows * len(samples)}")
    return [
        row_from(db.kind, f"{rows:,} rows (JSON)", samples, unit="rows/s", items_per_sample=rows)
    ]


def _create_project(client: FlaskClient, auth: dict[str, str]) -> int:
    created = client.post("/api/v1/projects", json=PROJECT, headers=auth)
    if created.status_code != 201:
        raise RuntimeError(f"project not created: {created.get_data(as_text=True)}")
    return int(created.get_json()["id"])


def table() -> Table:
    """The empty table this benchmark fills."""
    return Table(
        "Task upload (requester API)",
        "POST /api/v1/projects/{id}/tasks with a JSON array (10% gold), validated and stored "
        "all or nothing in one request, into a new project each time. Latency columns are "
        "per upload.",
    )
