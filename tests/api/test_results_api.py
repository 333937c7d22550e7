"""The results API: pages with cursors, since, per-answer pseudonyms and reputation, workers, gold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.db import utcnow
from tasks.assignment import get_next_task
from tasks.jobs import refresh_results
from tasks.submission import submit_answer
from tests.api.conftest import PROJECT, auth
from tests.tasks import factories
from workers.models import Worker

SQLITE_AND_POSTGRES = ["sqlite", "postgresql"]


def _serve_and_answer(app: Any, worker_id: int, raw: str) -> str:
    with app.extensions["kazi"].sessions.begin() as session:
        worker = session.get_one(Worker, worker_id)
        now = utcnow()
        view = get_next_task(session, worker, now)
        assert view is not None
        submit_answer(session, worker, view.task_id, raw, now + timedelta(seconds=9))
        return view.text


def _new_worker(app: Any) -> int:
    with app.extensions["kazi"].sessions.begin() as session:
        return factories.worker(session).id


@pytest.fixture
def answered(app: Any, client: Any, key: str) -> dict[str, Any]:
    """A project of three reviews and one gold task, each worker first served the gold."""
    body = {**PROJECT, "gold_rate": 1.0, "min_accuracy": 0.0, "answers_per_task": 2}
    pid = client.post("/api/v1/projects", json=body, headers=auth(key)).json["id"]
    tasks = [{"text": f"review {i}", "external_id": f"r-{i}"} for i in range(3)]
    tasks.append({"text": "Terrible", "external_id": "g-1", "gold_answer": "Negative"})
    assert (
        client.post(f"/api/v1/projects/{pid}/tasks", json=tasks, headers=auth(key)).status_code
        == 201
    )
    workers = [_new_worker(app) for _ in range(2)]
    served = {}
    for i, worker_id in enumerate(workers):
        assert _serve_and_answer(app, worker_id, "2" if i == 0 else "1") == "Terrible"  # gold first
        served[worker_id] = [_serve_and_answer(app, worker_id, "1") for _ in range(3)]
    runtime = app.extensions["kazi"]
    with runtime.activated():
        # The embedded job runner may have refreshed already; this run sees every answer.
        refresh_results(pid)
    return {"pid": pid, "workers": workers, "served": served}


@pytest.mark.parametrize("db_kind", SQLITE_AND_POSTGRES)
def test_results_come_in_pages_with_task_text_and_pseudonymous_answers(
    client: Any, key: str, answered: dict[str, Any]
) -> None:
    pid = answered["pid"]
    first = client.get(f"/api/v1/projects/{pid}/results?limit=2&include=answers", headers=auth(key))
    assert first.status_code == 200
    page = first.json
    assert page["version"] >= 1 and page["computed_at"] and page["next_cursor"]
    assert [r["external_id"] for r in page["results"]] == ["r-0", "r-1"]
    assert page["results"][0]["text"] == "review 0"
    rest = client.get(
        f"/api/v1/projects/{pid}/results?limit=2&include=answers&cursor={page['next_cursor']}",
        headers=auth(key),
    ).json
    assert [r["external_id"] for r in rest["results"]] == ["r-2"] and rest["next_cursor"] is None
    answers = [a for r in page["results"] + rest["results"] for a in r["answers"]]
    assert len(answers) == 6
    pseudonyms = {a["worker"] for a in answers}
    assert len(pseudonyms) == 2 and all(p.startswith("w_") and "+254" not in p for p in pseudonyms)
    assert all(str(w) not in {p[2:] for p in pseudonyms} for w in answered["workers"])
    # Each answered one gold task: one right (above the newcomer's 0.5), one wrong (below).
    assert sorted(a["reputation"] for a in answers[:2]) == pytest.approx([0.4, 0.6])


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_since_gives_only_results_changed_later(
    client: Any, key: str, answered: dict[str, Any]
) -> None:
    pid = answered["pid"]
    everything = client.get(f"/api/v1/projects/{pid}/results", headers=auth(key)).json
    stamp = max(r["changed_at"] for r in everything["results"])
    later = client.get(
        f"/api/v1/projects/{pid}/results", headers=auth(key), query_string={"since": stamp}
    ).json
    assert later["results"] == []
    earlier = client.get(
        f"/api/v1/projects/{pid}/results",
        headers=auth(key),
        query_string={"since": "2000-01-01T00:00:00Z"},
    ).json
    assert len(earlier["results"]) == 3


@pytest.mark.parametrize("db_kind", SQLITE_AND_POSTGRES)
def test_workers_show_agreement_and_gold_accuracy(
    client: Any, key: str, answered: dict[str, Any]
) -> None:
    pid = answered["pid"]
    body = client.get(f"/api/v1/projects/{pid}/workers", headers=auth(key)).json
    rows = body["workers"]
    assert len(rows) == 2 and body["next_cursor"] is None
    assert all(r["answers"] == 3 and r["agreement"] == 1.0 for r in rows)  # both said "Positive"
    assert sorted((r["gold_answered"], r["gold_correct"]) for r in rows) == [(1, 0), (1, 1)]
    assert sorted(r["gold_accuracy"] for r in rows) == [0.0, 1.0]
    one = client.get(f"/api/v1/projects/{pid}/workers?limit=1", headers=auth(key)).json
    assert len(one["workers"]) == 1 and one["next_cursor"]


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_gold_results_are_reported_apart(client: Any, key: str, answered: dict[str, Any]) -> None:
    pid = answered["pid"]
    results = client.get(f"/api/v1/projects/{pid}/results", headers=auth(key)).json["results"]
    assert "g-1" not in {r["external_id"] for r in results}
    gold = client.get(f"/api/v1/projects/{pid}/results/gold", headers=auth(key)).json["gold"]
    assert [(g["external_id"], g["gold_answer"], g["n_answers"], g["n_correct"]) for g in gold] == [
        ("g-1", "Negative", 2, 1)
    ]


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=bm9wZQ", "cursor"),
        ("cursor=%%%", "cursor"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("since=yesterday", "since"),
        ("include=everything", "include"),
    ],
)
def test_bad_paging_parameters_are_a_422_naming_the_field(
    client: Any, key: str, query: str, field: str
) -> None:
    pid = client.post("/api/v1/projects", json=PROJECT, headers=auth(key)).json["id"]
    response = client.get(f"/api/v1/projects/{pid}/results?{query}", headers=auth(key))
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == [field]
