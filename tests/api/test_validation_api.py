"""Validation errors in one shape, ISO codes, warnings, and editing a project, through the API."""

from __future__ import annotations

from typing import Any

import pytest

from core.db import utcnow
from tasks.aggregation import AGGREGATORS
from tests.api.conftest import PROJECT, auth
from tests.tasks import factories


def _create(client: Any, key: str, **overrides: Any) -> Any:
    return client.post("/api/v1/projects", json={**PROJECT, **overrides}, headers=auth(key))


def test_every_problem_of_a_body_comes_at_once_in_one_shape(client: Any, key: str) -> None:
    response = _create(
        client,
        key,
        name="",
        task_type="ranking",
        reward={"amount": 10, "currency": "XYZ"},
        aggregator="vote",
        languages=["en", "english", "SW"],
        countries=["ke", "Kenya", "XX"],
        colour="red",
    )
    assert response.status_code == 422
    assert set(response.json) == {"errors"}
    errors = {e["field"]: e for e in response.json["errors"]}
    assert list(errors) == [
        "colour",
        "name",
        "task_type",
        "reward.currency",
        "languages",
        "countries",
        "aggregator",
    ]
    assert errors["task_type"]["allowed"] == ["single_choice", "yes_no", "free_text", "number"]
    assert "KES" in errors["reward.currency"]["allowed"]
    assert errors["aggregator"]["allowed"] == sorted(AGGREGATORS)
    assert errors["languages"]["problem"] == "not ISO 639-1 language codes: english"
    assert errors["countries"]["problem"] == "not ISO 3166-1 alpha-2 country codes: KENYA, XX"
    assert all(set(e) <= {"field", "problem", "row", "allowed"} for e in errors.values())


def test_iso_codes_are_stored_in_their_standard_case(client: Any, key: str) -> None:
    response = _create(client, key, languages=["SW", "en", "sw"], countries=["ke", "TZ"])
    assert response.status_code == 201, response.json
    assert response.json["languages"] == ["sw", "en"] and response.json["countries"] == ["KE", "TZ"]


def test_rules_across_fields_are_422_naming_each_field(client: Any, key: str) -> None:
    response = _create(
        client,
        key,
        budget={"amount": 1000, "currency": "UGX"},
        options=["Only one"],
        answers_per_task=4,
        max_answers=2,
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["budget", "options", "max_answers"]


@pytest.mark.parametrize("body", [[], "text", None])
def test_a_body_that_is_not_an_object_is_one_problem_with_the_body(
    client: Any, key: str, body: Any
) -> None:
    response = client.post("/api/v1/projects", json=body, headers=auth(key))
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == ["body"]


def test_a_budget_that_cannot_pay_one_answer_is_a_warning_until_topped_up(
    client: Any, key: str
) -> None:
    response = _create(client, key, budget={"amount": 100, "currency": "KES"})
    assert response.status_code == 201
    codes = [w["code"] for w in response.json["warnings"]]
    assert "budget_below_one_answer" in codes
    pid = response.json["id"]
    edited = client.patch(
        f"/api/v1/projects/{pid}",
        json={"top_up": {"amount": 50, "currency": "KES"}},
        headers=auth(key),
    )
    assert edited.status_code == 200
    assert "budget_below_one_answer" not in [w["code"] for w in edited.json["warnings"]]


def test_a_project_no_registered_worker_can_take_is_a_warning(
    app: Any, client: Any, key: str
) -> None:
    with app.extensions["kazi"].sessions.begin() as session:
        factories.worker(session, language="sw", country="KE", registered_at=utcnow())
        factories.worker(session, language="fr", country="TZ")  # not registered: no one
    nobody = _create(client, key, languages=["fr"], countries=["TZ"]).json
    assert [w["code"] for w in nobody["warnings"]] == ["no_eligible_worker"]
    assert "fr in TZ" in nobody["warnings"][0]["message"]
    someone = _create(client, key, languages=["sw", "fr"], countries=["KE"]).json
    assert someone["warnings"] == []
    listed = client.get("/api/v1/projects", headers=auth(key)).json["projects"]
    assert [len(p["warnings"]) for p in listed] == [0, 1]


def test_patch_sets_priority_pauses_resumes_and_tops_up(client: Any, key: str) -> None:
    project = _create(client, key).json
    path = f"/api/v1/projects/{project['id']}"
    body = {"priority": 7, "status": "paused", "top_up": {"amount": 1000, "currency": "KES"}}
    edited = client.patch(path, json=body, headers=auth(key))
    assert edited.status_code == 200, edited.json
    assert (edited.json["priority"], edited.json["status"]) == (7, "paused")
    funded = project["budget"]["funded"]["amount"] + 1000
    assert edited.json["budget"]["funded"]["amount"] == funded
    resumed = client.patch(path, json={"status": "active"}, headers=auth(key))
    assert resumed.json["status"] == "active" and resumed.json["priority"] == 7


def test_patch_refuses_a_top_up_beyond_the_funding_and_changes_nothing(
    client: Any, key: str
) -> None:
    project = _create(client, key).json
    path = f"/api/v1/projects/{project['id']}"
    available = client.get("/api/v1/balance", headers=auth(key)).json["balances"][0]["available"]
    body = {"priority": 9, "top_up": {"amount": available["amount"] + 1, "currency": "KES"}}
    refused = client.patch(path, json=body, headers=auth(key))
    assert refused.status_code == 402
    assert client.get(path, headers=auth(key)).json["priority"] == 0  # all or nothing


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["body"]),
        ({"status": "closed"}, ["status"]),
        ({"priority": "high", "name": "x"}, ["name", "priority"]),
        ({"top_up": {"amount": 0, "currency": "KES"}}, ["top_up"]),
        ({"top_up": {"amount": 10, "currency": "UGX"}}, ["top_up.currency"]),
    ],
)
def test_patch_refuses_bad_edits_naming_each_field(
    client: Any, key: str, body: dict[str, Any], fields: list[str]
) -> None:
    pid = _create(client, key).json["id"]
    response = client.patch(f"/api/v1/projects/{pid}", json=body, headers=auth(key))
    assert response.status_code == 422
    assert [e["field"] for e in response.json["errors"]] == fields


def test_patch_of_a_closed_project_is_409(client: Any, key: str) -> None:
    pid = _create(client, key).json["id"]
    client.post(f"/api/v1/projects/{pid}/close", headers=auth(key))
    response = client.patch(f"/api/v1/projects/{pid}", json={"priority": 1}, headers=auth(key))
    assert response.status_code == 409
