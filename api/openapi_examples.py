"""Examples of the requester API's bodies, one per request and response of the OpenAPI document.

Each is what the API really sends or accepts (taken from a run against the app);
``tests/api/test_openapi.py`` validates every one against its schema.
"""

from __future__ import annotations

from typing import Any


def _kes(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "KES"}


PROJECT_CREATE: dict[str, Any] = {
    "name": "Shop reviews",
    "task_type": "single_choice",
    "instructions": "Is this review positive?",
    "options": ["Positive", "Negative", "Neutral"],
    "reward": _kes(150),
    "budget": _kes(500000),
    "answers_per_task": 3,
    "gold_rate": 0.1,
    "languages": ["en", "sw"],
    "countries": ["KE"],
}

PROJECT: dict[str, Any] = {
    "id": 1,
    "name": "Shop reviews",
    "status": "active",
    "task_type": "single_choice",
    "instructions": "Is this review positive?",
    "options": ["Positive", "Negative", "Neutral"],
    "reward": _kes(150),
    "answers_per_task": 3,
    "max_answers": 5,
    "target_confidence": 0.75,
    "aggregator": "majority",
    "gold_rate": 0.1,
    "min_accuracy": 0.0,
    "min_seconds_per_answer": 3.0,
    "reservation_minutes": 10,
    "quiz_pass_mark": 0.8,
    "languages": ["en", "sw"],
    "countries": ["KE"],
    "priority": 0,
    "webhook_url": None,
    "completed_at": None,
    "progress": {
        "tasks": 0,
        "complete": 0,
        "open": 0,
        "cancelled": 0,
        "gold_tasks": 0,
        "answers": 0,
        "reserved": 0,
    },
    "budget": {
        "funded": _kes(500000),
        "committed": _kes(500000),
        "spent": _kes(0),
        "paid": _kes(0),
        "reserved": _kes(0),
        "remaining": _kes(500000),
        "returned": _kes(0),
        "ledger_balance": _kes(500000),
    },
    "fair_pay": {
        "median_seconds_per_answer": None,
        "effective_hourly_wage": None,
        "price_per_answer": _kes(150),
        "worker_share": 1.0,
        "below_living_wage": False,
        "living_wage": [{"country": "KE", "floor_per_hour": 12500, "below_floor": False}],
    },
    "warnings": [
        {
            "code": "no_eligible_worker",
            "message": "no registered worker speaks en/sw in KE: nobody is offered its tasks",
        }
    ],
}

CREATED_PROJECT = {**PROJECT, "webhook_secret": "9f" * 32}

PROJECTS = {"projects": [PROJECT]}

PROJECT_EDIT = {"priority": 5, "status": "paused", "top_up": _kes(100000)}

TOP_UP = {"amount": _kes(100000)}

BALANCE = {
    "balances": [
        {
            "currency": "KES",
            "funded": _kes(5000000),
            "committed": _kes(500000),
            "spent": _kes(0),
            "available": _kes(4500000),
            "pending_deposits": _kes(0),
            "credit": {"limit": _kes(0), "used": _kes(0)},
        }
    ]
}

TASK_ROWS = [
    {"text": "Huduma ilikuwa nzuri sana", "external_id": "r-1"},
    {"text": "The food was cold", "external_id": "r-2", "gold_answer": "Negative"},
]

CREATED_TASKS = {
    "created": 2,
    "tasks": [{"id": 1, "external_id": "r-1"}, {"id": 2, "external_id": "r-2"}],
}

TASK = {
    "id": 1,
    "external_id": "r-1",
    "text": "Huduma ilikuwa nzuri sana",
    "status": "open",
    "gold": False,
    "answers": 0,
    "wanted_answers": 3,
    "in_progress": 0,
    "created_at": "2026-12-02T16:36:53.888195+00:00",
    "completed_at": None,
}

TASKS = {"project_id": 1, "tasks": [TASK], "next_cursor": None}

CANCELLED_TASK = {**TASK, "status": "cancelled", "released": _kes(450)}

PREVIEW_ROW = {"text": "Huduma ilikuwa nzuri sana"}

_SCREEN_EN = (
    "Is this review positive?\nHuduma ilikuwa nzuri sana\n1 Positive\n2 Negative\n"
    "3 Neutral\n0 Skip 00 Menu"
)
_SCREEN_SW = (
    "Is this review positive?\nHuduma ilikuwa nzuri sana\n1 Positive\n2 Negative\n"
    "3 Neutral\n0 Ruka 00 Menyu"
)

PREVIEW = {
    "project_id": 1,
    "ussd_limit": 178,
    "screens": [
        {
            "language": "en",
            "ussd": [{"text": _SCREEN_EN, "characters": 97}],
            "sms": {"text": _SCREEN_EN, "characters": 97, "encoding": "GSM-7", "segments": 1},
        },
        {
            "language": "sw",
            "ussd": [{"text": _SCREEN_SW, "characters": 98}],
            "sms": {"text": _SCREEN_SW, "characters": 98, "encoding": "GSM-7", "segments": 1},
        },
    ],
}

_ANSWER = {
    "value": "Positive",
    "worker": "w-3f9a1c",
    "reputation": 0.92,
    "seconds": 8.5,
    "answered_at": "2026-12-02T17:01:12+00:00",
    "review": None,
    "correct": None,
}

RESULTS = {
    "project_id": 1,
    "version": 3,
    "computed_at": "2026-12-02T17:05:00+00:00",
    "results": [
        {
            "task_id": 1,
            "external_id": "r-1",
            "text": "Huduma ilikuwa nzuri sana",
            "status": "complete",
            "answer": "Positive",
            "confidence": 0.91,
            "tied": False,
            "n_answers": 3,
            "changed_at": "2026-12-02T17:04:40+00:00",
            "answers": [_ANSWER],
        }
    ],
    "next_cursor": None,
}

RESULTS_CSV = (
    "task_id,external_id,status,answer,confidence,n_answers\n1,r-1,complete,Positive,0.91,3\n"
)

GOLD = {
    "project_id": 1,
    "version": 3,
    "computed_at": "2026-12-02T17:05:00+00:00",
    "gold": [
        {
            "task_id": 2,
            "external_id": "r-2",
            "text": "The food was cold",
            "gold_answer": "Negative",
            "n_answers": 4,
            "n_correct": 3,
        }
    ],
    "next_cursor": None,
}

WORKERS = {
    "project_id": 1,
    "version": 3,
    "computed_at": "2026-12-02T17:05:00+00:00",
    "workers": [
        {
            "worker": "w-3f9a1c",
            "answers": 40,
            "agreement": 0.9,
            "gold_answered": 5,
            "gold_correct": 5,
            "gold_accuracy": 1.0,
            "reputation": 0.92,
        }
    ],
    "next_cursor": None,
}

VALIDATION_ERRORS = {
    "errors": [
        {
            "field": "task_type",
            "problem": "expected one of single_choice, yes_no, free_text, number",
            "allowed": ["single_choice", "yes_no", "free_text", "number"],
        },
        {"field": "languages", "problem": "not ISO 639-1 language codes: xx"},
        {"row": 2, "field": "text", "problem": "required, a non-empty string"},
    ]
}


def error(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """An example of the general error shape."""
    return {"error": {"code": code, "message": message, "details": details or []}}


ERRORS: dict[int, dict[str, Any]] = {
    401: error("unauthorized", "send your API key as 'Authorization: Bearer <key>'"),
    402: error(
        "insufficient_funding",
        "KES 1,000.00 available, KES 5,000.00 needed: record a deposit of at least "
        "KES 4,000.00 first",
        [{"currency": "KES", "available": 100000, "needed": 500000, "shortfall": 400000}],
    ),
    404: error("not_found", "no project 7"),
    409: error("conflict", "a paused project cannot become paused"),
    413: error(
        "request_entity_too_large", "The data value transmitted exceeds the capacity limit."
    ),
}


IMPACT: dict[str, Any] = {
    "generated_at": "2026-12-02T09:00:00+00:00",
    "active_workers_30d": 12,
    "baseline_answered": 22,
    "baseline_declined": 2,
    "followups_answered": 17,
    "wages": [
        {
            "currency": "KES",
            "total_minor": 180000,
            "workers": 12,
            "median_per_worker_minor": 15000,
            "distribution": [{"band": "Under 2,000", "workers": 12}],
        }
    ],
    "hourly": [
        {
            "country": "KE",
            "currency": "KES",
            "workers": 12,
            "hours_on_task": 3.5,
            "hourly_minor": 51428,
            "floor_minor": 25000,
            "below_floor": False,
        }
    ],
    "worker_share": [
        {"currency": "KES", "wages_minor": 180000, "fees_minor": 36000, "share": 0.833}
    ],
    "band_changes": [
        {
            "wave": 90,
            "n": 13,
            "up": 6,
            "same": 5,
            "down": 2,
            "mean_change": 0.46,
            "small_sample": False,
        }
    ],
    "new_work": {
        "n": 17,
        "job": 3,
        "study": 1,
        "both": 1,
        "neither": 12,
        "share": 0.29,
        "small_sample": False,
    },
    "small_sample": 10,
}

IMPACT_CSV = (
    "worker_id,country,currency,paid_answers,wages_minor,hours_on_task,hourly_minor,"
    "baseline_band,followup_wave,followup_band,band_change,new_work\n"
    "41,KE,KES,1,150,0.01,54000,2,90,3,1,job\n"
)
