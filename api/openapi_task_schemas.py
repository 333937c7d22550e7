"""Component schemas of the task operations and of validation errors (``api.openapi``)."""

from __future__ import annotations

from typing import Any

from tasks.models import TaskStatus

TASK_STATUSES = [str(s) for s in TaskStatus]

CREATED_TASKS: dict[str, Any] = {
    "type": "object",
    "required": ["created", "tasks"],
    "properties": {
        "created": {"type": "integer"},
        "tasks": {
            "type": "array",
            "description": "the new tasks in the order uploaded",
            "items": {
                "type": "object",
                "required": ["id", "external_id"],
                "properties": {
                    "id": {"type": "integer"},
                    "external_id": {"type": ["string", "null"]},
                },
            },
        },
    },
}

TASK = {
    "type": "object",
    "required": [
        "id",
        "external_id",
        "text",
        "status",
        "gold",
        "answers",
        "wanted_answers",
        "in_progress",
        "created_at",
        "completed_at",
    ],
    "properties": {
        "id": {"type": "integer"},
        "external_id": {"type": ["string", "null"]},
        "text": {"type": "string"},
        "status": {"type": "string", "enum": TASK_STATUSES},
        "gold": {"type": "boolean"},
        "answers": {"type": "integer", "description": "answers counted so far"},
        "wanted_answers": {"type": "integer"},
        "in_progress": {"type": "integer", "description": "workers holding it now"},
        "created_at": {"type": "string", "format": "date-time"},
        "completed_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

TASKS = {
    "type": "object",
    "required": ["project_id", "tasks", "next_cursor"],
    "properties": {
        "project_id": {"type": "integer"},
        "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
        "next_cursor": {
            "type": ["string", "null"],
            "description": "pass as ?cursor= for the next page; null on the last",
        },
    },
}

CANCELLED_TASK = {
    "allOf": [
        {"$ref": "#/components/schemas/Task"},
        {
            "type": "object",
            "required": ["released"],
            "properties": {
                "released": {
                    "$ref": "#/components/schemas/Money",
                    "description": "budget given back to your funding by this cancel",
                }
            },
        },
    ]
}

PREVIEW = {
    "type": "object",
    "required": ["project_id", "ussd_limit", "screens"],
    "properties": {
        "project_id": {"type": "integer"},
        "ussd_limit": {"type": "integer", "description": "units one USSD screen may hold"},
        "screens": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["language", "ussd", "sms"],
                "properties": {
                    "language": {"type": "string"},
                    "ussd": {
                        "type": "array",
                        "description": "the pages, each but the last ending in 98 More",
                        "items": {
                            "type": "object",
                            "required": ["text", "characters"],
                            "properties": {
                                "text": {"type": "string"},
                                "characters": {"type": "integer"},
                            },
                        },
                    },
                    "sms": {
                        "type": "object",
                        "required": ["text", "characters", "encoding", "segments"],
                        "properties": {
                            "text": {"type": "string"},
                            "characters": {
                                "type": "integer",
                                "description": "GSM-7 septets or UCS-2 units",
                            },
                            "encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
                            "segments": {"type": "integer"},
                        },
                    },
                },
            },
        },
    },
}

VALIDATION_ERRORS = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["field", "problem"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "the field (body: the request as a whole)",
                    },
                    "problem": {"type": "string"},
                    "row": {"type": "integer", "description": "upload row, from 1"},
                    "allowed": {
                        "type": "array",
                        "description": "the values allowed, for a value outside a fixed set",
                    },
                },
            },
        }
    },
}
