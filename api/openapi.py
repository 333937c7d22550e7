"""The OpenAPI 3.1 document of the requester API, as data (served at /api/v1/openapi.json).

The paths are here; their component schemas are in ``api.openapi_schemas`` and an
example of every request and response body in ``api.openapi_examples``. Every
operation has an ``operationId`` (a client generator's method name) and a tag.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from api import openapi_examples as ex
from api.openapi_schemas import SCHEMAS
from tasks.results import DEFAULT_PAGE, MAX_PAGE
from tasks.upload import MAX_TASKS_PER_UPLOAD

TAGS = [
    {"name": "funding", "description": "your money: deposits, credit, what is committed"},
    {"name": "projects", "description": "create, edit, pause, resume, close, top up"},
    {"name": "tasks", "description": "upload, preview, list, cancel"},
    {"name": "results", "description": "aggregated answers, gold, workers"},
    {"name": "impact", "description": "the impact report, for Kazi's admins (operator token)"},
    {"name": "meta", "description": "this document"},
]


def _ref(schema: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema}"}


def _json(schema: str | dict[str, Any], example: Any) -> dict[str, Any]:
    shape = _ref(schema) if isinstance(schema, str) else schema
    return {"application/json": {"schema": shape, "example": example}}


_ERROR_TEXT = {
    401: "missing or wrong API key",
    402: "the budget is beyond your available funding (code insufficient_funding; "
    "details: currency, available, needed, shortfall in minor units)",
    404: "no such project or task (or another requester's)",
    409: "conflict with the project's or task's state, or a reused Idempotency-Key",
    413: "body too large",
}


def _errors(*codes: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        if code == 422:
            out["422"] = {
                "description": "invalid request: every problem at once, each naming its "
                "field (and row of an upload; the values allowed for an enum)",
                "content": _json("ValidationErrors", ex.VALIDATION_ERRORS),
            }
        else:
            content = _json("Error", ex.ERRORS[code])
            out[str(code)] = {"description": _ERROR_TEXT[code], "content": content}
    return out


def _ok(description: str, schema: str | dict[str, Any], example: Any) -> dict[str, Any]:
    return {"description": description, "content": _json(schema, example)}


def _op(
    operation_id: str,
    tag: str,
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    operation["responses"] = responses
    return operation


def _path_id(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "example": 1,
    }


_ID = _path_id("project_id")
_TASK_ID = _path_id("task_id")

_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "a repeat with the same key and body replays the first answer",
    "example": "batch-2026-12-02-1",
}

_PAGING = [
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "next_cursor of the previous page",
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE},
    },
]
_SINCE = {
    "name": "since",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "format": "date-time"},
    "description": "only results that changed after this time (incremental download)",
}
_INCLUDE = {
    "name": "include",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["answers"]},
    "description": "each answer with its worker's pseudonym and reputation",
}
_STATUS = {
    "name": "status",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["open", "complete", "cancelled"]},
    "description": "only tasks of this status",
}


def _move(operation_id: str, summary: str) -> dict[str, Any]:
    return {
        "post": _op(
            operation_id,
            "projects",
            summary,
            {"200": _ok("the project", "Project", ex.PROJECT), **_errors(401, 404, 409)},
            parameters=[_ID],
        )
    }


_PROJECT_LIST = {"type": "object", "required": ["projects"], "properties": {
    "projects": {"type": "array", "items": _ref("Project")}}}  # fmt: skip

_TASK_UPLOAD = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_TASKS_PER_UPLOAD,
    "items": _ref("TaskRow"),
}

_PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {
        "get": {
            **_op(
                "getOpenApiDocument",
                "meta",
                "This document",
                {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "required": ["openapi"]},
                                "example": {"openapi": "3.1.0", "info": {"title": "Kazi"}},
                            }
                        },
                    }
                },
            ),
            "security": [],
        }
    },
    "/api/v1/impact": {
        "get": _op(
            "getImpactReport",
            "impact",
            "The impact report (Kazi's admins: the operator API token, not an API "
            "key): workers active, wages, hourly wage against living-wage floors, the "
            "worker's share, income band change, new work; format=csv: one row per worker",
            {
                "200": {
                    "description": "the report (JSON), or CSV without phone numbers",
                    "content": {
                        **_json({"type": "object"}, ex.IMPACT),
                        "text/csv": {"schema": {"type": "string"}, "example": ex.IMPACT_CSV},
                    },
                },
                **_errors(401, 422),
            },
            parameters=[
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["json", "csv"]},
                    "example": "json",
                }
            ],
        )
        | {"security": [{"operatorToken": []}]}
    },
    "/api/v1/balance": {
        "get": _op(
            "getBalance",
            "funding",
            "Your funding per currency: funded, committed, spent, credit, available",
            {"200": _ok("your balances", "Balance", ex.BALANCE), **_errors(401)},
        )
    },
    "/api/v1/projects": {
        "get": _op(
            "listProjects",
            "projects",
            "Your projects, newest first, each with its warnings",
            {"200": _ok("projects", _PROJECT_LIST, ex.PROJECTS), **_errors(401)},
        ),
        "post": _op(
            "createProject",
            "projects",
            "Create a project; its budget is drawn from your funding at once",
            {
                "201": _ok(
                    "created (webhook_secret is shown only here)", "Project", ex.CREATED_PROJECT
                ),
                **_errors(401, 402, 422),
            },
            body=_json("ProjectCreate", ex.PROJECT_CREATE),
        ),
    },
    "/api/v1/projects/{project_id}": {
        "get": _op(
            "getProject",
            "projects",
            "A project with progress, budget, fair-pay figures and warnings",
            {"200": _ok("the project", "Project", ex.PROJECT), **_errors(401, 404)},
            parameters=[_ID],
        ),
        "patch": _op(
            "editProject",
            "projects",
            "Change priority, pause or resume (status), top up the budget (top_up), at once",
            {
                "200": _ok("the project as edited", "Project", ex.PROJECT),
                **_errors(401, 402, 404, 409, 422),
            },
            parameters=[_ID],
            body=_json("ProjectEdit", ex.PROJECT_EDIT),
        ),
    },
    "/api/v1/projects/{project_id}/pause": _move("pauseProject", "Pause a project"),
    "/api/v1/projects/{project_id}/resume": _move("resumeProject", "Resume a paused project"),
    "/api/v1/projects/{project_id}/close": _move(
        "closeProject",
        "Close a project for good; its unspent, unpromised budget returns to your funding",
    ),
    "/api/v1/projects/{project_id}/budget": {
        "post": _op(
            "topUpProject",
            "projects",
            "Top up a project's budget from your funding",
            {
                "200": _ok("the project, with its new budget", "Project", ex.PROJECT),
                **_errors(401, 402, 404, 409, 422),
            },
            parameters=[_ID, _IDEMPOTENCY_KEY],
            body=_json("BudgetTopUp", ex.TOP_UP),
        )
    },
    "/api/v1/projects/{project_id}/preview": {
        "post": _op(
            "previewTask",
            "tasks",
            "A task row as workers would see it (USSD pages, SMS), with sizes; stores nothing",
            {
                "200": _ok("the screens per project language", "Preview", ex.PREVIEW),
                **_errors(401, 404, 422),
            },
            parameters=[_ID],
            body=_json("TaskRow", ex.PREVIEW_ROW),
        )
    },
    "/api/v1/projects/{project_id}/tasks": {
        "get": _op(
            "listTasks",
            "tasks",
            "The project's tasks in upload order with their status, a page at a time",
            {"200": _ok("tasks", "Tasks", ex.TASKS), **_errors(401, 404, 422)},
            parameters=[_ID, *_PAGING, _STATUS],
        ),
        "post": _op(
            "uploadTasks",
            "tasks",
            f"Upload up to {MAX_TASKS_PER_UPLOAD:,} tasks, all or nothing",
            {
                "201": _ok("all tasks stored, with their ids", "CreatedTasks", ex.CREATED_TASKS),
                **_errors(401, 404, 409, 413, 422),
            },
            parameters=[_ID, _IDEMPOTENCY_KEY],
            body={
                **_json(_TASK_UPLOAD, ex.TASK_ROWS),
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "text,external_id,gold_answer,gold_reason\n"
                    "The food was cold,r-2,Negative,Cold food is a complaint.\n",
                },
            },
        ),
    },
    "/api/v1/projects/{project_id}/tasks/{task_id}/cancel": {
        "post": _op(
            "cancelTask",
            "tasks",
            "Cancel a task not yet complete; its unspent share of the budget returns to your "
            "funding (409 while a worker holds it or its answer awaits review)",
            {
                "200": _ok("the cancelled task", "CancelledTask", ex.CANCELLED_TASK),
                **_errors(401, 404, 409),
            },
            parameters=[_ID, _TASK_ID],
        )
    },
    "/api/v1/projects/{project_id}/results": {
        "get": _op(
            "getResults",
            "results",
            "Aggregated answers with their posterior confidence, a page at a time "
            "(every row as CSV with Accept: text/csv)",
            {
                "200": {
                    "description": "results",
                    "content": {
                        **_json("Results", ex.RESULTS),
                        "text/csv": {"schema": {"type": "string"}, "example": ex.RESULTS_CSV},
                    },
                },
                **_errors(401, 404, 422),
            },
            parameters=[_ID, *_PAGING, _SINCE, _INCLUDE],
        )
    },
    "/api/v1/projects/{project_id}/results/gold": {
        "get": _op(
            "getGoldResults",
            "results",
            "Gold tasks apart: the known answer and how the workers did",
            {"200": _ok("gold tasks", "GoldResults", ex.GOLD), **_errors(401, 404, 422)},
            parameters=[_ID, *_PAGING, _INCLUDE],
        )
    },
    "/api/v1/projects/{project_id}/workers": {
        "get": _op(
            "getProjectWorkers",
            "results",
            "The project's workers by pseudonym: agreement and gold accuracy",
            {"200": _ok("workers", "Workers", ex.WORKERS), **_errors(401, 404, 422)},
            parameters=[_ID, *_PAGING],
        )
    },
}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Kazi requester API",
        "version": "1",
        "description": "Projects, task uploads and quality-controlled results. Budgets "
        "are drawn from your funding: deposits Kazi's operators record (and any credit "
        "line they grant); see GET /api/v1/balance. Amounts are integer minor units. "
        "Every validation error is a 422 listing all problems as {errors: [{field, "
        "problem, row?, allowed?}]}. Completion webhooks are POSTed with header "
        "X-Kazi-Signature: sha256=<HMAC-SHA256 of the body, keyed by webhook_secret>. "
        "A first project end to end: docs/requester-guide.md.",
    },
    "tags": TAGS,
    "security": [{"apiKey": []}],
    "paths": _PATHS,
    "components": {
        "securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer"},
            "operatorToken": {"type": "http", "scheme": "bearer"},
        },
        "schemas": SCHEMAS,
    },
}


def document() -> dict[str, Any]:
    """A copy of the OpenAPI document (callers may not mutate the shared one)."""
    return deepcopy(_DOCUMENT)
