"""The requester API end to end through the Flask app, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tasks.models import Task
from tests.api.conftest import PROJECT, auth, new_key


def _create(client: Any, key: str, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/projects", json={**PROJECT, **overrides}, headers=auth(key))
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer kz_wrong"}, {"Authorization": "Basic abc"}]
)
def test_no_key_or_wrong_key_is_401(client: Any, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/projects", headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_another_requesters_project_is_404(app: Any, client: Any, key: str) -> None:
    project = _create(client, key)
    other = new_key(app, "Other")
    for path in ("", "/results"):
        response = client.get(f"/api/v1/projects/{project['id']}{path}", headers=auth(other))
        assert response.status_code == 404
    response = client.post(
        f"/api/v1/projects/{project['id']}/tasks", json=[{"text": "x"}], headers=auth(other)
    )
    assert response.status_code == 404


def test_create_shows_budget_progress_and_fair_pay(client: Any, key: str) -> None:
    project = _create(client, key)
    assert project["status"] == "active" and len(project["webhook_secret"]) == 64
    assert project["budget"]["ledger_balance"] == {"amount": 500000, "currency": "KES"}
    assert project["budget"]["remaining"]["amount"] == 500000
    assert project["fair_pay"]["worker_share"] == 1.0
    shown = client.get(f"/api/v1/projects/{project['id']}", headers=auth(key)).json
    assert "webhook_secret" not in shown and shown["progress"]["tasks"] == 0


def test_bad_project_body_is_422_naming_the_field(client: Any, key: str) -> None:
    response = client.post(
        "/api/v1/projects", json={**PROJECT, "reward": {"amount": 1.5}}, headers=auth(key)
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["reward"]


@pytest.mark.parametrize("amount", [10**19, 10**12 + 1, -5])
def test_amounts_beyond_the_documented_range_are_422_not_an_overflow(
    client: Any, key: str, amount: int
) -> None:
    budget = {"amount": amount, "currency": "KES"}
    response = client.post(
        "/api/v1/projects", json={**PROJECT, "budget": budget}, headers=auth(key)
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["budget"]


@pytest.mark.parametrize("project_id", ["99999999999999999999", "0", "-1"])
def test_ids_outside_the_key_range_are_404_not_an_overflow(
    client: Any, key: str, project_id: str
) -> None:
    response = client.get(f"/api/v1/projects/{project_id}", headers=auth(key))
    assert response.status_code == 404


def test_pause_resume_close(client: Any, key: str) -> None:
    pid = _create(client, key)["id"]
    for action, status in (("pause", "paused"), ("resume", "active"), ("close", "closed")):
        response = client.post(f"/api/v1/projects/{pid}/{action}", headers=auth(key))
        assert response.status_code == 200 and response.json["status"] == status
    assert client.post(f"/api/v1/projects/{pid}/resume", headers=auth(key)).status_code == 409


def test_upload_json_then_results_json_and_csv(client: Any, key: str) -> None:
    pid = _create(client, key)["id"]
    tasks = [
        {"text": "Huduma ilikuwa nzuri sana", "external_id": "r-1"},
        {"text": "The food was cold", "external_id": "r-2", "gold_answer": "Negative"},
    ]
    response = client.post(f"/api/v1/projects/{pid}/tasks", json=tasks, headers=auth(key))
    assert response.status_code == 201 and response.json["created"] == 2
    results = client.get(f"/api/v1/projects/{pid}/results?include=answers", headers=auth(key))
    assert [r["external_id"] for r in results.json["results"]] == ["r-1"]  # gold is not a result
    assert results.json["results"][0]["answers"] == []
    csv = client.get(f"/api/v1/projects/{pid}/results", headers={**auth(key), "Accept": "text/csv"})
    assert csv.mimetype == "text/csv"
    assert (
        csv.get_data(as_text=True)
        .splitlines()[1]
        .startswith(f"{results.json['results'][0]['task_id']},r-1,open")
    )


def test_csv_with_bad_rows_names_each_row_and_stores_nothing(client: Any, key: str) -> None:
    pid = _create(client, key)["id"]
    body = (
        "text,external_id,gold_answer\n"
        "Good service,a-1,\n"
        ",a-2,\n"  # row 2: no text
        f"{'x' * 600},a-3,\n"  # row 3: cannot fit three USSD screens
        "Fine,a-1,\n"  # row 4: repeats row 1's external_id
        "Cold food,a-5,Maybe\n"  # row 5: not an option
    )
    headers = {**auth(key), "Content-Type": "text/csv"}
    response = client.post(f"/api/v1/projects/{pid}/tasks", data=body, headers=headers)
    assert response.status_code == 422
    errors = [(e["row"], e["field"]) for e in response.json["errors"]]
    assert errors == [(2, "text"), (3, "text"), (4, "external_id"), (5, "gold_answer")]
    shown = client.get(f"/api/v1/projects/{pid}", headers=auth(key)).json
    assert shown["progress"]["tasks"] == 0


def test_good_csv_is_stored(client: Any, key: str) -> None:
    pid = _create(client, key)["id"]
    body = "\ufefftext,external_id,gold_answer\nGood,g-1,1\nBad,g-2,\n"
    headers = {**auth(key), "Content-Type": "text/csv; charset=utf-8"}
    response = client.post(f"/api/v1/projects/{pid}/tasks", data=body.encode(), headers=headers)
    assert response.status_code == 201 and response.json["created"] == 2


def test_upload_is_idempotent_with_a_key(client: Any, key: str) -> None:
    pid = _create(client, key)["id"]
    headers = {**auth(key), "Idempotency-Key": "batch-1"}
    tasks = [{"text": "one"}, {"text": "two"}]
    first = client.post(f"/api/v1/projects/{pid}/tasks", json=tasks, headers=headers)
    again = client.post(f"/api/v1/projects/{pid}/tasks", json=tasks, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201) and again.json == first.json
    assert client.get(f"/api/v1/projects/{pid}", headers=auth(key)).json["progress"]["tasks"] == 2
    other = client.post(f"/api/v1/projects/{pid}/tasks", json=[{"text": "3"}], headers=headers)
    assert other.status_code == 409


def test_ten_thousand_long_tasks_fit_one_request_and_more_are_refused(
    client: Any, key: str
) -> None:
    pid = _create(client, key)["id"]
    text = "Huduma ilikuwa nzuri sana lakini chakula kilichelewa. " * 8  # ~430 characters
    tasks = [{"text": text, "external_id": f"r-{i}"} for i in range(10_000)]
    response = client.post(f"/api/v1/projects/{pid}/tasks", json=tasks, headers=auth(key))
    assert response.status_code == 201 and response.json["created"] == 10_000
    response = client.post(
        f"/api/v1/projects/{pid}/tasks", json=[{"text": "t"}] * 10_001, headers=auth(key)
    )
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"field": "body", "problem": "at most 10000 tasks per request, got 10001"}
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://10.0.0.8/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_a_webhook_url_into_our_own_network_is_refused(client: Any, key: str, url: str) -> None:
    response = client.post(
        "/api/v1/projects", json={**PROJECT, "webhook_url": url}, headers=auth(key)
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["webhook_url"]
    assert client.get("/api/v1/projects", headers=auth(key)).json["projects"] == []


def test_gold_reason_is_stored_with_its_gold_task_and_checked(
    app: Any, client: Any, key: str
) -> None:
    pid = _create(client, key)["id"]
    bad = [
        {"text": "Cold", "gold_answer": "Negative", "gold_reason": "x" * 81},  # too long
        {"text": "Warm", "gold_reason": "Warm food pleases."},  # not a gold task
        {"text": "Odd", "gold_answer": "Negative", "gold_reason": "two\nlines"},
    ]
    response = client.post(f"/api/v1/projects/{pid}/tasks", json=bad, headers=auth(key))
    assert response.status_code == 422
    errors = [(e["row"], e["field"]) for e in response.json["errors"]]
    assert errors == [(1, "gold_reason"), (2, "gold_reason"), (3, "gold_reason")]
    good = [{"text": "Cold", "gold_answer": "Negative", "gold_reason": "x" * 80}]
    response = client.post(f"/api/v1/projects/{pid}/tasks", json=good, headers=auth(key))
    assert response.status_code == 201
    with app.extensions["kazi"].sessions() as session:
        [reason] = session.scalars(select(Task.gold_reason).where(Task.project_id == pid))
    assert reason == "x" * 80
