"""The OpenAPI 3.1 document of the requester API, as data (served at /api/v1/openapi.json)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from api.schemas import MAX_AMOUNT_MINOR
from core.money import MINOR_UNITS

_MONEY: dict[str, Any] = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {
        "amount": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_AMOUNT_MINOR,
            "description": "integer minor units (cents)",
        },
        "currency": {"type": "string", "enum": list(MINOR_UNITS)},
    },
}


def _amount(minimum: int, description: str) -> dict[str, Any]:
    money = deepcopy(_MONEY)
    money["properties"]["amount"]["minimum"] = minimum
    return {**money, "description": description}


_NULLABLE_NUMBER = {"type": ["number", "null"]}
_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}

_PROJECT_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "task_type", "instructions", "reward", "budget"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "task_type": {"type": "string", "enum": ["single_choice", "yes_no", "free_text", "number"]},
        "instructions": {"type": "string", "minLength": 1, "maxLength": 2000},
        "options": _STRINGS,
        "reward": _amount(1, "per answer, paid to the worker; same currency as budget"),
        "budget": _amount(0, "funds the wages; no task is served that it cannot pay"),
        "answers_per_task": {"type": "integer", "minimum": 1, "maximum": 50, "default": 3},
        "max_answers": {"type": ["integer", "null"], "minimum": 1, "maximum": 50},
        "target_confidence": {**_FRACTION, "default": 0},
        "aggregator": {"type": "string", "enum": ["majority", "weighted", "dawid_skene"]},
        "gold_rate": {**_FRACTION, "default": 0.1},
        "min_accuracy": {**_FRACTION, "default": 0},
        "min_seconds_per_answer": {"type": "number", "minimum": 0, "maximum": 3600},
        "reservation_minutes": {"type": "integer", "minimum": 1, "maximum": 1440},
        "languages": _STRINGS,
        "countries": _STRINGS,
        "priority": {"type": "integer", "minimum": -1000, "maximum": 1000},
        "webhook_url": {"type": ["string", "null"], "format": "uri", "maxLength": 500},
    },
}

_PROJECT = {
    "type": "object",
    "required": ["id", "name", "status", "task_type", "reward", "progress", "budget", "fair_pay"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "paused", "closed"]},
        "task_type": {"type": "string"},
        "instructions": {"type": "string"},
        "options": {"type": "array", "items": {"type": "string"}},
        "reward": {"$ref": "#/components/schemas/Money"},
        "answers_per_task": {"type": "integer"},
        "max_answers": {"type": "integer"},
        "target_confidence": {"type": "number"},
        "aggregator": {"type": "string"},
        "gold_rate": {"type": "number"},
        "min_accuracy": {"type": "number"},
        "min_seconds_per_answer": {"type": "number"},
        "reservation_minutes": {"type": "integer"},
        "languages": {"type": "array", "items": {"type": "string"}},
        "countries": {"type": "array", "items": {"type": "string"}},
        "priority": {"type": "integer"},
        "webhook_url": {"type": ["string", "null"]},
        "webhook_secret": {
            "type": "string",
            "description": "only in the create response: the HMAC-SHA256 key of webhooks",
        },
        "completed_at": {"type": ["string", "null"], "format": "date-time"},
        "progress": {
            "type": "object",
            "required": ["tasks", "complete", "open", "gold_tasks", "answers", "reserved"],
            "properties": {
                k: {"type": "integer"}
                for k in ("tasks", "complete", "open", "gold_tasks", "answers", "reserved")
            },
        },
        "budget": {
            "type": "object",
            "required": ["funded", "paid", "reserved", "remaining", "ledger_balance"],
            "properties": {
                k: {"$ref": "#/components/schemas/Money"}
                for k in ("funded", "paid", "reserved", "remaining", "ledger_balance")
            },
        },
        "fair_pay": {
            "type": "object",
            "required": ["effective_hourly_wage", "worker_share", "below_living_wage"],
            "properties": {
                "median_seconds_per_answer": _NULLABLE_NUMBER,
                "effective_hourly_wage": {
                    "oneOf": [{"$ref": "#/components/schemas/Money"}, {"type": "null"}]
                },
                "price_per_answer": {"$ref": "#/components/schemas/Money"},
                "worker_share": {"type": "number"},
                "below_living_wage": {"type": "boolean"},
                "living_wage": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "country": {"type": "string"},
                            "floor_per_hour": {"type": ["integer", "null"]},
                            "below_floor": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
}

_TASK_ROW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "minLength": 1},
        "external_id": {"type": "string", "minLength": 1, "maxLength": 200},
        "gold_answer": {"type": "string"},
    },
}

_RESULTS = {
    "type": "object",
    "required": ["project_id", "results"],
    "properties": {
        "project_id": {"type": "integer"},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "task_id",
                    "external_id",
                    "status",
                    "answer",
                    "confidence",
                    "n_answers",
                ],
                "properties": {
                    "task_id": {"type": "integer"},
                    "external_id": {"type": ["string", "null"]},
                    "status": {"type": "string", "enum": ["open", "complete"]},
                    "answer": {"type": ["string", "null"]},
                    "confidence": _NULLABLE_NUMBER,
                    "n_answers": {"type": "integer"},
                    "answers": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array"},
            },
        }
    },
}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "invalid request",
        401: "missing or wrong API key",
        404: "no such project (or another requester's)",
        409: "conflict with the project's state or a reused Idempotency-Key",
        413: "body too large",
        422: "invalid body; task uploads list row-numbered errors",
    }
    return {str(c): {"description": text[c], "content": _json("Error")} for c in codes}


_ID = {
    "name": "project_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
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
            "summary": "Create a project; its budget is funded at once",
            "requestBody": {"required": True, "content": _json("ProjectCreate")},
            "responses": {
                "201": {"description": "created", "content": _json("Project")},
                **_errors(400, 401, 422),
            },
        },
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
    "/api/v1/projects/{project_id}/close": _move("Close a project for good"),
    "/api/v1/projects/{project_id}/tasks": {
        "post": {
            "summary": "Upload up to 10,000 tasks, all or nothing",
            "parameters": [
                _ID,
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    "description": "a repeat with the same key and body replays the first answer",
                },
            ],
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
                        "example": "text,external_id,gold_answer\nThe food was cold,r-2,Negative\n",
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
            "summary": "Aggregated answers with confidence; CSV with Accept: text/csv",
            "parameters": [
                _ID,
                {
                    "name": "include",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["answers"]},
                },
            ],
            "responses": {
                "200": {
                    "description": "results",
                    "content": {**_json("Results"), "text/csv": {"schema": {"type": "string"}}},
                },
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
        "description": "Projects, task uploads and quality-controlled results. Amounts are "
        "integer minor units. Completion webhooks are POSTed with header "
        "X-Kazi-Signature: sha256=<HMAC-SHA256 of the body, keyed by webhook_secret>.",
    },
    "security": [{"apiKey": []}],
    "paths": _PATHS,
    "components": {
        "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Money": _MONEY,
            "ProjectCreate": _PROJECT_CREATE,
            "Project": _PROJECT,
            "TaskRow": _TASK_ROW,
            "Results": _RESULTS,
            "Error": _ERROR,
        },
    },
}


def document() -> dict[str, Any]:
    """A copy of the OpenAPI document (callers may not mutate the shared one)."""
    return deepcopy(_DOCUMENT)
