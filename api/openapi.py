"""The OpenAPI 3.1 document of the requester API, as data (served at /api/v1/openapi.json).

The paths are here; their component schemas are in ``api.openapi_schemas``.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from api.openapi_schemas import SCHEMAS
from tasks.results import DEFAULT_PAGE, MAX_PAGE


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "invalid request",
        401: "missing or wrong API key",
        402: "the budget is beyond your available funding (code insufficient_funding; "
        "details: currency, available, needed, shortfall in minor units)",
        404: "no such project (or another requester's)",
        409: "conflict with the project's state or a reused Idempotency-Key",
        413: "body too large",
        422: "invalid body (a wage in a currency no payout rail pays: unpayable_currency); "
        "task uploads list row-numbered errors",
    }
    return {str(c): {"description": text[c], "content": _json("Error")} for c in codes}


_ID = {
    "name": "project_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
}


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "a repeat with the same key and body replays the first answer",
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


def _move(summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": [_ID],
            "responses": {
                "200": {"description": "the project", "content": _json("Project")},
                **_errors(401, 404, 409),
            },
        }
    }


_PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}
            },
        }
    },
    "/api/v1/projects": {
        "get": {
            "summary": "Your projects",
            "responses": {
                "200": {
                    "description": "projects, newest first",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["projects"],
                                "properties": {
                                    "projects": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Project"},
                                    }
                                },
                            }
                        }
                    },
                },
                **_errors(401),
            },
        },
        "post": {
            "summary": "Create a project; its budget is drawn from your funding at once",
            "requestBody": {"required": True, "content": _json("ProjectCreate")},
            "responses": {
                "201": {"description": "created", "content": _json("Project")},
                **_errors(400, 401, 402, 422),
            },
        },
    },
    "/api/v1/impact": {
        "get": {
            "summary": "The impact report (Kazi's admins: the operator API token, not an API "
            "key): workers active, wages, hourly wage against living-wage floors, the "
            "worker's share, income band change, new work; format=csv: one row per worker",
            "security": [{"operatorToken": []}],
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["json", "csv"]},
                }
            ],
            "responses": {
                "200": {
                    "description": "the report (JSON), or CSV without phone numbers",
                    "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {}},
                },
                **_errors(401, 422),
            },
        }
    },
    "/api/v1/balance": {
        "get": {
            "summary": "Your funding per currency: funded, committed, spent, credit, available",
            "responses": {
                "200": {"description": "your balances", "content": _json("Balance")},
                **_errors(401),
            },
        }
    },
    "/api/v1/projects/{project_id}": {
        "get": {
            "summary": "A project with progress, budget and fair-pay figures",
            "parameters": [_ID],
            "responses": {
                "200": {"description": "the project", "content": _json("Project")},
                **_errors(401, 404),
            },
        }
    },
    "/api/v1/projects/{project_id}/pause": _move("Pause a project"),
    "/api/v1/projects/{project_id}/resume": _move("Resume a paused project"),
    "/api/v1/projects/{project_id}/close": _move(
        "Close a project for good; its unspent, unpromised budget returns to your funding"
    ),
    "/api/v1/projects/{project_id}/budget": {
        "post": {
            "summary": "Top up a project's budget from your funding",
            "parameters": [_ID, _IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": _json("BudgetTopUp")},
            "responses": {
                "200": {
                    "description": "the project, with its new budget",
                    "content": _json("Project"),
                },
                **_errors(400, 401, 402, 404, 409, 422),
            },
        }
    },
    "/api/v1/projects/{project_id}/tasks": {
        "post": {
            "summary": "Upload up to 10,000 tasks, all or nothing",
            "parameters": [_ID, _IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 10000,
                            "items": {"$ref": "#/components/schemas/TaskRow"},
                        }
                    },
                    "text/csv": {
                        "schema": {"type": "string"},
                        "example": "text,external_id,gold_answer,gold_reason\n"
                        "The food was cold,r-2,Negative,Cold food is a complaint.\n",
                    },
                },
            },
            "responses": {
                "201": {
                    "description": "all tasks stored",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["created"],
                                "properties": {"created": {"type": "integer"}},
                            }
                        }
                    },
                },
                **_errors(401, 404, 409, 413, 422),
            },
        }
    },
    "/api/v1/projects/{project_id}/results": {
        "get": {
            "summary": "Aggregated answers with their posterior confidence, a page at a time "
            "(every row as CSV with Accept: text/csv)",
            "parameters": [_ID, *_PAGING, _SINCE, _INCLUDE],
            "responses": {
                "200": {
                    "description": "results",
                    "content": {**_json("Results"), "text/csv": {"schema": {"type": "string"}}},
                },
                **_errors(401, 404, 422),
            },
        }
    },
    "/api/v1/projects/{project_id}/results/gold": {
        "get": {
            "summary": "Gold tasks apart: the known answer and how the workers did",
            "parameters": [_ID, *_PAGING, _INCLUDE],
            "responses": {
                "200": {"description": "gold tasks", "content": _json("GoldResults")},
                **_errors(401, 404, 422),
            },
        }
    },
    "/api/v1/projects/{project_id}/workers": {
        "get": {
            "summary": "The project's workers by pseudonym: agreement and gold accuracy",
            "parameters": [_ID, *_PAGING],
            "responses": {
                "200": {"description": "workers", "content": _json("Workers")},
                **_errors(401, 404, 422),
            },
        }
    },
}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Kazi requester API",
        "version": "1",
        "description": "Projects, task uploads and quality-controlled results. Budgets "
        "are drawn from your funding: deposits Kazi's operators record (and any credit "
        "line they grant); see GET /api/v1/balance. Amounts are integer minor units. Completion webhooks are POSTed with header "
        "X-Kazi-Signature: sha256=<HMAC-SHA256 of the body, keyed by webhook_secret>.",
    },
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
