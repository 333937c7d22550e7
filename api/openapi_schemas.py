"""The component schemas of the requester API's OpenAPI document (``api.openapi``)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from api.openapi_task_schemas import (
    CANCELLED_TASK,
    CREATED_TASKS,
    PREVIEW,
    TASK,
    TASK_STATUSES,
    TASKS,
    VALIDATION_ERRORS,
)
from core.money import MAX_AMOUNT_MINOR, MINOR_UNITS
from tasks.aggregation import AGGREGATORS
from tasks.projects import DEFAULT_EXTRA_ANSWERS, DEFAULT_TARGET_CONFIDENCE

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

_TRANSLATIONS = {
    "type": "object",
    "description": "instructions and options per language (ISO 639-1 keys), shown to workers "
    "who do tasks in that language instead of the project's own; options: one label per "
    "option, in the same order (answers are recorded as the project's own options)",
    "propertyNames": {"pattern": "^[a-z]{2}$"},
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "instructions": {"type": "string", "minLength": 1, "maxLength": 2000},
            "options": _STRINGS,
        },
    },
    "example": {"sw": {"instructions": "Chagua moja", "options": ["Nzuri", "Mbaya"]}},
}

_PROJECT_CREATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "task_type", "instructions", "reward", "budget"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "task_type": {"type": "string", "enum": ["single_choice", "yes_no", "free_text", "number"]},
        "instructions": {"type": "string", "minLength": 1, "maxLength": 2000},
        "options": _STRINGS,
        "reward": _amount(
            1,
            "per answer, paid to the worker; same currency as budget, and one a payout "
            "rail pays (today KES; another is refused with unpayable_currency)",
        ),
        "budget": _amount(
            0,
            "drawn from your funding (GET /api/v1/balance); no task is served that it cannot pay",
        ),
        "answers_per_task": {"type": "integer", "minimum": 1, "maximum": 50, "default": 3},
        "max_answers": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": 50,
            "description": f"cap on answers per task while unsure; null: answers_per_task + "
            f"{DEFAULT_EXTRA_ANSWERS}",
        },
        "target_confidence": {**_FRACTION, "default": DEFAULT_TARGET_CONFIDENCE},
        "aggregator": {"type": "string", "enum": sorted(AGGREGATORS), "default": "majority"},
        "gold_rate": {**_FRACTION, "default": 0.1},
        "min_accuracy": {**_FRACTION, "default": 0},
        "min_seconds_per_answer": {"type": "number", "minimum": 0, "maximum": 3600},
        "reservation_minutes": {"type": "integer", "minimum": 1, "maximum": 1440},
        "quiz_pass_mark": {**_FRACTION, "default": 0.8},
        "languages": {
            **_STRINGS,
            "default": ["en"],
            "description": "ISO 639-1 codes; empty: any language",
        },
        "countries": {
            **_STRINGS,
            "default": ["KE"],
            "description": "ISO 3166-1 alpha-2 codes; empty: any country",
        },
        "priority": {"type": "integer", "minimum": -1000, "maximum": 1000},
        "webhook_url": {"type": ["string", "null"], "format": "uri", "maxLength": 500},
        "translations": _TRANSLATIONS,
    },
}

PROGRESS_KEYS = ["tasks", "complete", "open", "cancelled", "gold_tasks", "answers", "reserved"]
BUDGET_KEYS = [
    "funded",
    "committed",
    "spent",
    "paid",
    "reserved",
    "remaining",
    "returned",
    "ledger_balance",
]

_PROJECT = {
    "type": "object",
    "required": [
        "id",
        "name",
        "status",
        "task_type",
        "reward",
        "progress",
        "budget",
        "fair_pay",
        "warnings",
    ],
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
        "quiz_pass_mark": {"type": "number"},
        "languages": {"type": "array", "items": {"type": "string"}},
        "translations": _TRANSLATIONS,
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
            "required": PROGRESS_KEYS,
            "properties": {k: {"type": "integer"} for k in PROGRESS_KEYS},
        },
        "budget": {
            "type": "object",
            "description": "funded: drawn from your funding; returned: given back (on close, "
            "or a cancelled task's share); committed: in the budget, unpaid; spent: paid "
            "as wages; reserved: promised to workers holding a task; remaining: free",
            "required": BUDGET_KEYS,
            "properties": {k: {"$ref": "#/components/schemas/Money"} for k in BUDGET_KEYS},
        },
        "warnings": {
            "type": "array",
            "description": "what may keep the project from getting answers: "
            "budget_below_one_answer, no_eligible_worker",
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": ["budget_below_one_answer", "no_eligible_worker"],
                    },
                    "message": {"type": "string"},
                },
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

_TOP_UP = {
    "type": "object",
    "additionalProperties": False,
    "required": ["amount"],
    "properties": {
        "amount": _amount(1, "added to the budget from your funding; the project's currency")
    },
}

#: An amount that may be below zero (available funding once a credit limit was lowered).
_SIGNED_MONEY: dict[str, Any] = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {
        "amount": {"type": "integer", "description": "integer minor units; may be negative"},
        "currency": {"type": "string", "enum": list(MINOR_UNITS)},
    },
}

_BALANCE = {
    "type": "object",
    "required": ["balances"],
    "properties": {
        "balances": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "currency",
                    "funded",
                    "committed",
                    "spent",
                    "available",
                    "pending_deposits",
                    "credit",
                ],
                "properties": {
                    "currency": {"type": "string", "enum": list(MINOR_UNITS)},
                    "funded": {
                        "$ref": "#/components/schemas/Money",
                        "description": "recorded deposits that count (approved)",
                    },
                    "committed": {
                        "$ref": "#/components/schemas/Money",
                        "description": "in your projects' budgets, not yet paid",
                    },
                    "spent": {
                        "$ref": "#/components/schemas/Money",
                        "description": "paid to workers as wages",
                    },
                    "available": {
                        "$ref": "#/components/schemas/SignedMoney",
                        "description": "what a new project or a top-up may draw now "
                        "(funded - committed - spent + credit limit)",
                    },
                    "pending_deposits": {
                        "$ref": "#/components/schemas/Money",
                        "description": "recorded, waiting for a second admin's approval",
                    },
                    "credit": {
                        "type": "object",
                        "required": ["limit", "used"],
                        "properties": {
                            "limit": {"$ref": "#/components/schemas/Money"},
                            "used": {"$ref": "#/components/schemas/Money"},
                        },
                    },
                },
            },
        }
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
        "language": {
            "type": "string",
            "pattern": "^[a-zA-Z]{2}$",
            "description": "ISO 639-1 code of the text (one of the project's languages when it "
            "names any): offered only to workers who do tasks in it; none: anyone",
            "example": "sw",
        },
        "gold_reason": {
            "type": "string",
            "minLength": 1,
            "maxLength": 80,
            "description": "gold tasks only: one line on why the gold answer is right, "
            "shown as uploaded to a worker who missed it, under the right answer",
        },
    },
}

_ANSWER = {
    "type": "object",
    "required": ["value", "worker", "reputation", "seconds", "answered_at", "review", "correct"],
    "properties": {
        "value": {"type": ["string", "null"]},
        "worker": {
            "type": "string",
            "description": "the worker's pseudonym in this project (never a phone number)",
        },
        "reputation": {
            **_NULLABLE_NUMBER,
            "description": "the gold accuracy the aggregators weigh this worker by; null "
            "before any gold answer (a newcomer)",
        },
        "seconds": _NULLABLE_NUMBER,
        "answered_at": {"type": ["string", "null"], "format": "date-time"},
        "review": {"type": ["string", "null"]},
        "correct": {"type": ["boolean", "null"], "description": "gold tasks only"},
    },
}


def _page(name: str, row: dict[str, Any]) -> dict[str, Any]:
    """A page of rows: the snapshot version they come from and the next page's cursor."""
    return {
        "type": "object",
        "required": ["project_id", "version", "computed_at", name, "next_cursor"],
        "properties": {
            "project_id": {"type": "integer"},
            "version": {
                "type": ["integer", "null"],
                "description": "the results snapshot (whole-project aggregation, refreshed "
                "in the background); null before the first",
            },
            "computed_at": {"type": ["string", "null"], "format": "date-time"},
            name: {"type": "array", "items": row},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "pass as ?cursor= for the next page; null on the last",
            },
        },
    }


_RESULT_ROW = {
    "type": "object",
    "required": [
        "task_id",
        "external_id",
        "text",
        "status",
        "answer",
        "confidence",
        "tied",
        "n_answers",
        "changed_at",
    ],
    "properties": {
        "task_id": {"type": "integer"},
        "external_id": {"type": ["string", "null"]},
        "text": {"type": "string"},
        "status": {"type": "string", "enum": TASK_STATUSES},
        "answer": {"type": ["string", "null"]},
        "confidence": {
            **_NULLABLE_NUMBER,
            "description": "posterior probability of the answer under the project's model",
        },
        "tied": {"type": "boolean", "description": "another answer is exactly as likely"},
        "n_answers": {"type": "integer"},
        "changed_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "when this result last changed (what ?since= compares)",
        },
        "answers": {"type": "array", "items": _ANSWER},
    },
}

_GOLD_ROW = {
    "type": "object",
    "required": ["task_id", "external_id", "text", "gold_answer", "n_answers", "n_correct"],
    "properties": {
        "task_id": {"type": "integer"},
        "external_id": {"type": ["string", "null"]},
        "text": {"type": "string"},
        "gold_answer": {"type": ["string", "null"]},
        "n_answers": {"type": "integer"},
        "n_correct": {"type": "integer"},
        "answers": {"type": "array", "items": _ANSWER},
    },
}

_WORKER_ROW = {
    "type": "object",
    "required": [
        "worker",
        "answers",
        "agreement",
        "gold_answered",
        "gold_correct",
        "gold_accuracy",
        "reputation",
    ],
    "properties": {
        "worker": {"type": "string", "description": "pseudonym in this project"},
        "answers": {"type": "integer", "description": "answers to this project's real tasks"},
        "agreement": {
            **_NULLABLE_NUMBER,
            "description": "share of those answers that match the results",
        },
        "gold_answered": {"type": "integer"},
        "gold_correct": {"type": "integer"},
        "gold_accuracy": {**_NULLABLE_NUMBER, "description": "raw share right on gold"},
        "reputation": {
            **_NULLABLE_NUMBER,
            "description": "smoothed gold accuracy the aggregators use; null: a newcomer",
        },
    },
}

_RESULTS = _page("results", _RESULT_ROW)
_GOLD_RESULTS = _page("gold", _GOLD_ROW)
_WORKERS = _page("workers", _WORKER_ROW)

_PROJECT_EDIT = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "priority": {"type": "integer", "minimum": -1000, "maximum": 1000},
        "status": {
            "type": "string",
            "enum": ["active", "paused"],
            "description": "paused: no task is handed out; active: resume (close is POST .../close)",
        },
        "top_up": _amount(1, "added to the budget from your funding; the project's currency"),
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


#: The document's ``components.schemas``, by name.
SCHEMAS: dict[str, Any] = {
    "Money": _MONEY,
    "SignedMoney": _SIGNED_MONEY,
    "ProjectCreate": _PROJECT_CREATE,
    "BudgetTopUp": _TOP_UP,
    "Balance": _BALANCE,
    "Project": _PROJECT,
    "TaskRow": _TASK_ROW,
    "Results": _RESULTS,
    "GoldResults": _GOLD_RESULTS,
    "Workers": _WORKERS,
    "ProjectEdit": _PROJECT_EDIT,
    "CreatedTasks": CREATED_TASKS,
    "Task": TASK,
    "Tasks": TASKS,
    "CancelledTask": CANCELLED_TASK,
    "Preview": PREVIEW,
    "ValidationErrors": VALIDATION_ERRORS,
    "Error": _ERROR,
}
