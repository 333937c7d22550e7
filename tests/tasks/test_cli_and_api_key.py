"""The requester key from `requesters create` works on the API; `tasks expire` sweeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.db import utcnow
from tasks.assignment import get_next_task
from tests.tasks import factories


def _run(app: Any, *args: str) -> list[str]:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()


def test_cli_key_authenticates_and_tasks_expire_releases(app: Any) -> None:
    key = _run(app, "requesters", "create", "--name", "Acme")[-1]
    response = app.test_client().get("/api/v1/projects", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and response.json == {"projects": []}
    with app.extensions["kazi"].sessions.begin() as session:
        factories.project(session, texts=["t1"], reservation_minutes=1)
        worker = factories.worker(session)
        assert get_next_task(session, worker, utcnow() - timedelta(minutes=5)) is not None
    assert _run(app, "tasks", "expire")[-1] == "released 1 expired reservation(s)"
    assert _run(app, "tasks", "expire")[-1] == "released 0 expired reservation(s)"
