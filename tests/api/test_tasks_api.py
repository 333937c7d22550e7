"""Tasks through the requester API: upload ids, the task list, cancelling, the preview."""

from __future__ import annotations

from typing import Any

from core.db import utcnow
from tasks.assignment import get_next_task
from tasks.models import Project
from tasks.submission import submit_answer
from tests.api.conftest import PROJECT, auth
from tests.tasks import factories
from workers.models import Worker

#: A project any worker may take at once: no gold, no accuracy floor.
OPEN_PROJECT = {**PROJECT, "gold_rate": 0, "min_accuracy": 0, "min_seconds_per_answer": 0}


def _project(client: Any, key: str, **overrides: Any) -> int:
    response = client.post(
        "/api/v1/projects", json={**OPEN_PROJECT, **overrides}, headers=auth(key)
    )
    assert response.status_code == 201, response.json
    return int(response.json["id"])


def _upload(client: Any, key: str, pid: int, rows: list[dict[str, Any]]) -> list[int]:
    response = client.post(f"/api/v1/projects/{pid}/tasks", json=rows, headers=auth(key))
    assert response.status_code == 201, response.json
    return [t["id"] for t in response.json["tasks"]]


def test_an_upload_answers_each_task_id_and_external_id_in_order(client: Any, key: str) -> None:
    pid = _project(client, key)
    rows = [{"text": "one", "external_id": "e-1"}, {"text": "two"}, {"text": "3", "external_id": 7}]
    response = client.post(f"/api/v1/projects/{pid}/tasks", json=rows, headers=auth(key))
    assert response.status_code == 201 and response.json["created"] == 3
    tasks = response.json["tasks"]
    assert [t["external_id"] for t in tasks] == ["e-1", None, "7"]
    listed = client.get(f"/api/v1/projects/{pid}/tasks", headers=auth(key)).json["tasks"]
    assert [(t["id"], t["text"]) for t in listed] == [
        (tasks[0]["id"], "one"),
        (tasks[1]["id"], "two"),
        (tasks[2]["id"], "3"),
    ]


def test_the_task_list_pages_with_a_cursor_and_filters_by_status(client: Any, key: str) -> None:
    pid = _project(client, key)
    ids = _upload(client, key, pid, [{"text": f"t{i}"} for i in range(5)])
    seen, cursor = [], None
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/projects/{pid}/tasks?{query}", headers=auth(key)).json
        assert len(page["tasks"]) <= 2
        seen += [t["id"] for t in page["tasks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    client.post(f"/api/v1/projects/{pid}/tasks/{ids[1]}/cancel", headers=auth(key))
    cancelled = client.get(f"/api/v1/projects/{pid}/tasks?status=cancelled", headers=auth(key))
    assert [t["id"] for t in cancelled.json["tasks"]] == [ids[1]]
    bad = client.get(f"/api/v1/projects/{pid}/tasks?status=done&limit=0", headers=auth(key))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"limit"}  # parameters first, then status
    bad = client.get(f"/api/v1/projects/{pid}/tasks?status=done", headers=auth(key))
    assert bad.json["errors"][0]["allowed"] == ["open", "complete", "cancelled"]


def _balance(client: Any, key: str) -> dict[str, Any]:
    return client.get("/api/v1/balance", headers=auth(key)).json["balances"][0]


def test_cancelling_a_task_gives_its_share_of_the_budget_back_and_never_serves_it(
    app: Any, client: Any, key: str
) -> None:
    pid = _project(client, key)
    [first, second] = _upload(client, key, pid, [{"text": "keep"}, {"text": "drop"}])
    before = _balance(client, key)
    response = client.post(f"/api/v1/projects/{pid}/tasks/{second}/cancel", headers=auth(key))
    assert response.status_code == 200
    share = 3 * PROJECT["reward"]["amount"]  # three answers wanted, none given
    assert response.json["status"] == "cancelled"
    assert response.json["released"] == {"amount": share, "currency": "KES"}
    after = _balance(client, key)
    assert after["available"]["amount"] == before["available"]["amount"] + share
    assert after["committed"]["amount"] == before["committed"]["amount"] - share
    project = client.get(f"/api/v1/projects/{pid}", headers=auth(key)).json
    assert project["budget"]["returned"]["amount"] == share
    assert project["progress"]["cancelled"] == 1 and project["progress"]["open"] == 1
    again = client.post(f"/api/v1/projects/{pid}/tasks/{second}/cancel", headers=auth(key))
    assert again.status_code == 200 and again.json["released"]["amount"] == 0  # a no-op
    with app.extensions["kazi"].sessions.begin() as session:
        served = [get_next_task(session, factories.worker(session), utcnow()) for _ in range(4)]
    assert {view.task_id for view in served if view is not None} == {first}


def test_a_task_a_worker_holds_cannot_be_cancelled_until_answered_and_then_is_complete(
    app: Any, client: Any, key: str
) -> None:
    pid = _project(client, key, answers_per_task=1, max_answers=1, target_confidence=0)
    [task_id] = _upload(client, key, pid, [{"text": "Good food"}])
    sessions = app.extensions["kazi"].sessions
    with sessions.begin() as session:
        worker = factories.worker(session)
        view = get_next_task(session, worker, utcnow())
        assert view is not None and view.task_id == task_id
        worker_id = worker.id
    held = client.post(f"/api/v1/projects/{pid}/tasks/{task_id}/cancel", headers=auth(key))
    assert held.status_code == 409 and "try again in 10 minutes" in held.json["error"]["message"]
    with sessions.begin() as session:
        worker = session.get_one(Worker, worker_id)
        submit_answer(session, worker, task_id, "Positive", utcnow())
        assert session.get_one(Project, pid).paid_minor == PROJECT["reward"]["amount"]
    done = client.post(f"/api/v1/projects/{pid}/tasks/{task_id}/cancel", headers=auth(key))
    assert done.status_code == 409 and "complete" in done.json["error"]["message"]


def test_cancelling_another_projects_task_is_404(client: Any, key: str) -> None:
    pid, other = _project(client, key), _project(client, key)
    [task_id] = _upload(client, key, other, [{"text": "t"}])
    response = client.post(f"/api/v1/projects/{pid}/tasks/{task_id}/cancel", headers=auth(key))
    assert response.status_code == 404


def test_preview_shows_the_workers_screens_with_sizes_and_stores_nothing(
    client: Any, key: str
) -> None:
    pid = _project(client, key, languages=["en", "sw"])
    text = "Huduma ilikuwa nzuri sana lakini chakula kilichelewa sana. " * 4
    response = client.post(
        f"/api/v1/projects/{pid}/preview", json={"text": text}, headers=auth(key)
    )
    assert response.status_code == 200, response.json
    screens = {s["language"]: s for s in response.json["screens"]}
    assert list(screens) == ["en", "sw"]
    pages = screens["sw"]["ussd"]
    assert len(pages) == 2 and pages[0]["text"].endswith("98 Zaidi")  # paged as on a phone
    assert pages[0]["text"].startswith("Is this review positive?\nHuduma")
    assert pages[-1]["text"].splitlines()[-5:] == [
        "1 Positive",
        "2 Negative",
        "3 Neutral",
        "0 Ruka 00 Menyu",
        "99 Rudi",
    ]
    assert all(0 < p["characters"] <= response.json["ussd_limit"] for p in pages)
    sms = screens["en"]["sms"]
    assert sms["encoding"] == "GSM-7" and sms["segments"] == 3  # 307 septets, 153 a part
    assert sms["characters"] == len(sms["text"])
    shown = client.get(f"/api/v1/projects/{pid}", headers=auth(key)).json
    assert shown["progress"]["tasks"] == 0


def test_preview_shows_each_language_its_translation(client: Any, key: str) -> None:
    sw = {"instructions": "Je, maoni haya ni mazuri?", "options": ["Mazuri", "Mabaya", "Wastani"]}
    pid = _project(client, key, languages=["en", "sw"], translations={"sw": sw})
    response = client.post(
        f"/api/v1/projects/{pid}/preview", json={"text": "Chakula kizuri"}, headers=auth(key)
    )
    assert response.status_code == 200, response.json
    screens = {s["language"]: s["ussd"][0]["text"] for s in response.json["screens"]}
    assert screens["sw"].startswith("Je, maoni haya ni mazuri?\nChakula kizuri\n1 Mazuri\n")
    assert screens["en"].startswith("Is this review positive?\nChakula kizuri\n1 Positive\n")


def test_preview_refuses_a_row_an_upload_would_refuse_with_the_same_problems(
    client: Any, key: str
) -> None:
    pid = _project(client, key)
    bad = {"text": "x" * 600, "gold_answer": "Maybe", "colour": "red"}
    response = client.post(f"/api/v1/projects/{pid}/preview", json=bad, headers=auth(key))
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["colour", "text", "gold_answer"]
    upload = client.post(f"/api/v1/projects/{pid}/tasks", json=[bad], headers=auth(key))
    assert [e["field"] for e in upload.json["errors"]] == ["colour", "gold_answer", "text"]
    assert all(e["row"] == 1 for e in upload.json["errors"])


def test_cancelling_the_last_open_task_completes_the_project(client: Any, key: str) -> None:
    pid = _project(client, key)
    [only] = _upload(client, key, pid, [{"text": "the only one"}])
    assert client.get(f"/api/v1/projects/{pid}", headers=auth(key)).json["completed_at"] is None
    client.post(f"/api/v1/projects/{pid}/tasks/{only}/cancel", headers=auth(key))
    project = client.get(f"/api/v1/projects/{pid}", headers=auth(key)).json
    assert project["completed_at"] is not None and project["progress"]["open"] == 0
