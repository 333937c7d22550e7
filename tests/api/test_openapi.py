"""The OpenAPI document matches the server: every route documented, responses as documented.

Two checks: the app's url_map under /api/v1 and the document's paths agree both ways
(methods included); and schemathesis (pinned 4.32.5) generates requests from the
document against the WSGI app and validates every response (status documented,
content type and body schema), with a real API key and a real project, so the
generated bodies reach the services rather than stopping at 401/404.

One check is left out: "schema-valid data is accepted". The create-project rules
that span fields (reward and budget in one currency, max_answers >= answers_per_task,
two or more distinct options for a single choice, a menu that fits one USSD screen)
cannot be written in JSON Schema, so schema-valid bodies may get a documented 400.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.openapi import document
from tests.api.conftest import PROJECT, auth

SQLITE_ONLY = ["sqlite"]


def _app_routes(app: Any) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


@pytest.mark.parametrize("db_kind", SQLITE_ONLY)
def test_every_route_is_documented_and_every_documented_route_exists(app: Any) -> None:
    documented = {(path, method) for path, ops in document()["paths"].items() for method in ops}
    assert _app_routes(app) == documented


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, ops in document()["paths"].items()
        for method, operation in ops.items()
    ]


def _bodies(operation: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, media type, media object) of the operation's request and every response."""
    out = [
        ("request", m, c) for m, c in operation.get("requestBody", {}).get("content", {}).items()
    ]
    for status, response in operation["responses"].items():
        assert "content" in response, f"response {status} has no body"
        out += [(status, m, c) for m, c in response["content"].items()]
    return out


def test_every_operation_has_a_unique_operation_id_a_known_tag_and_examples() -> None:
    doc = document()
    tags = {t["name"] for t in doc["tags"]}
    ids = [op["operationId"] for _, _, op in _operations()]
    assert len(ids) == len(set(ids)) == len(_operations())
    for path, method, operation in _operations():
        where = f"{method.upper()} {path}"
        assert operation["tags"] and set(operation["tags"]) <= tags, where
        for status, media, content in _bodies(operation):
            assert "example" in content, f"{where} {status} {media}: no example"


def test_every_example_validates_against_its_schema() -> None:
    # jsonschema-rs comes with the pinned schemathesis; OpenAPI 3.1 schemas are JSON
    # Schema 2020-12, so each example is checked with the document's components in reach.
    doc = document()
    checked = 0
    for path, method, operation in _operations():
        for status, media, content in _bodies(operation):
            schema = {**content["schema"], "components": doc["components"]}
            validator = jsonschema_rs.validator_for(schema)
            problems = [e.message for e in validator.iter_errors(content["example"])]
            assert not problems, f"{method.upper()} {path} {status} {media}: {problems}"
            checked += 1
        for parameter in operation.get("parameters", []):
            if "example" in parameter:
                assert jsonschema_rs.is_valid(parameter["schema"], parameter["example"])
    assert checked > 40


def test_an_example_that_breaks_its_schema_is_caught() -> None:
    # The check above can fail: a Project example without its required warnings does not pass.
    doc = document()
    example = doc["paths"]["/api/v1/projects/{project_id}"]["get"]["responses"]["200"]
    content = example["content"]["application/json"]
    broken = {k: v for k, v in content["example"].items() if k != "warnings"}
    schema = {**content["schema"], "components": doc["components"]}
    assert not jsonschema_rs.validator_for(schema).is_valid(broken)


def test_served_document_is_the_document(client: Any) -> None:
    assert client.get("/api/v1/openapi.json").json == document()


@pytest.mark.parametrize("db_kind", SQLITE_ONLY)
def test_generated_requests_get_documented_responses(app: Any, client: Any, key: str) -> None:
    project = client.post("/api/v1/projects", json=PROJECT, headers=auth(key)).json
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"text": "t"}], headers=auth(key))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            if "project_id" in (case.path_parameters or {}):
                case.path_parameters["project_id"] = project["id"]  # a real project of this key
            case.call_and_validate(headers=auth(key), excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as error:  # collect all operations' failures, then report
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
