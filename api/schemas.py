"""Request bodies of the requester API turned into domain specs, with field-named errors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.errors import KaziError
from core.money import MAX_AMOUNT_MINOR, Money
from tasks.answers import TaskType
from tasks.projects import DEFAULT_TARGET_CONFIDENCE, ProjectSpec
from tasks.results import DEFAULT_PAGE, MAX_PAGE, Query


class InvalidRequest(KaziError):
    """A request body that does not match the documented schema."""

    http_status = 422
    code = "invalid_request"


_NUMBERS = (int, float)


def _field(
    body: dict[str, Any], name: str, kinds: Any, default: Any = ..., check: Any = None
) -> Any:
    if name not in body:
        if default is ...:
            raise InvalidRequest(f"{name}: required", details=[{"field": name}])
        return default
    value = body[name]
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise InvalidRequest(f"{name}: wrong type", details=[{"field": name}])
    if not isinstance(value, kinds) or (check is not None and not check(value)):
        raise InvalidRequest(f"{name}: invalid value {value!r}", details=[{"field": name}])
    return value


def _money(body: dict[str, Any], name: str, minimum: int = 0) -> Money:
    value = _field(body, name, dict)
    amount, currency = value.get("amount"), value.get("currency")
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or not minimum <= amount <= MAX_AMOUNT_MINOR
        or not isinstance(currency, str)
    ):
        raise InvalidRequest(
            f"{name}: expected {{amount: integer minor units from {minimum} to "
            f"{MAX_AMOUNT_MINOR}, currency}}",
            details=[{"field": name}],
        )
    try:
        return Money(amount, currency)
    except ValueError as error:
        raise InvalidRequest(f"{name}: {error}", details=[{"field": name}]) from None


def _strings(body: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = _field(body, name, list, default)
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise InvalidRequest(
            f"{name}: expected a list of non-empty strings", details=[{"field": name}]
        )
    return list(value)


def project_spec(body: Any) -> ProjectSpec:
    """Read a create-project body (see the OpenAPI document) into a ProjectSpec."""
    if not isinstance(body, dict):
        raise InvalidRequest("expected a JSON object")
    unknown = sorted(set(body) - PROJECT_FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}", details=unknown)
    task_type = _field(body, "task_type", str, check=lambda v: v in set(TaskType))
    fraction = lambda v: 0 <= v <= 1  # noqa: E731
    return ProjectSpec(
        name=_field(body, "name", str, check=lambda v: 0 < len(v.strip()) <= 200),
        task_type=TaskType(task_type),
        instructions=_field(body, "instructions", str, check=lambda v: 0 < len(v.strip()) <= 2000),
        options=_strings(body, "options", []),
        reward=_money(body, "reward"),
        budget=_money(body, "budget"),
        answers_per_task=_field(body, "answers_per_task", int, 3, lambda v: 1 <= v <= 50),
        gold_rate=float(_field(body, "gold_rate", _NUMBERS, 0.1, fraction)),
        min_accuracy=float(_field(body, "min_accuracy", _NUMBERS, 0.0, fraction)),
        languages=_strings(body, "languages", ["en"]),
        countries=_strings(body, "countries", ["KE"]),
        priority=_field(body, "priority", int, 0, lambda v: -1000 <= v <= 1000),
        aggregator=_field(body, "aggregator", str, "majority"),
        target_confidence=float(
            _field(body, "target_confidence", _NUMBERS, DEFAULT_TARGET_CONFIDENCE, fraction)
        ),
        max_answers=_field(
            body, "max_answers", (int, type(None)), None, lambda v: v is None or 1 <= v <= 50
        ),
        min_seconds_per_answer=float(
            _field(body, "min_seconds_per_answer", _NUMBERS, 3.0, lambda v: 0 <= v <= 3600)
        ),
        reservation_minutes=_field(body, "reservation_minutes", int, 10, lambda v: 1 <= v <= 1440),
        quiz_pass_mark=float(_field(body, "quiz_pass_mark", _NUMBERS, 0.8, fraction)),
        webhook_url=_field(body, "webhook_url", (str, type(None)), None, _is_http_url),
        # Checked by the tasks service (tasks.projects), which knows the options.
        translations=_field(body, "translations", dict, {}),
    )


def top_up_amount(body: Any) -> Money:
    """Read a top-up body, ``{"amount": {"amount", "currency"}}``, into the Money to add."""
    if not isinstance(body, dict):
        raise InvalidRequest("expected a JSON object")
    unknown = sorted(set(body) - {"amount"})
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}", details=unknown)
    return _money(body, "amount", minimum=1)


def _is_http_url(value: str | None) -> bool:
    return value is None or (value.startswith(("https://", "http://")) and len(value) <= 500)


PROJECT_FIELDS = {
    "name",
    "translations",
    "task_type",
    "instructions",
    "options",
    "reward",
    "budget",
    "answers_per_task",
    "gold_rate",
    "min_accuracy",
    "languages",
    "countries",
    "priority",
    "aggregator",
    "target_confidence",
    "max_answers",
    "min_seconds_per_answer",
    "reservation_minutes",
    "quiz_pass_mark",
    "webhook_url",
}


def encode_cursor(last_key: int | None) -> str | None:
    """The opaque cursor naming the page after ``last_key`` (None: there is none)."""
    if last_key is None:
        return None
    return base64.urlsafe_b64encode(f"k:{last_key}".encode()).decode().rstrip("=")


def _cursor(value: str) -> int:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        kind, _, key = text.partition(":")
        if kind != "k" or not key.isdigit():
            raise ValueError(text)
        return int(key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest(
            "cursor: not a cursor this API gave out", details=[{"field": "cursor"}]
        ) from None


def _since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            "since: expected an ISO 8601 date-time, e.g. 2026-12-01T08:00:00Z",
            details=[{"field": "since"}],
        ) from None
    # A time without a zone is read as UTC, the zone every stored time is in.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def page_query(args: Mapping[str, str], *, paged: bool = True) -> Query:
    """Read ``cursor``, ``limit``, ``since`` and ``include`` query parameters into a Query."""
    unknown = sorted(set(args) - {"cursor", "limit", "since", "include"})
    if unknown:
        raise InvalidRequest(f"unknown parameter(s): {', '.join(unknown)}", details=unknown)
    include = args.get("include", "")
    if include not in ("", "answers"):
        raise InvalidRequest("include: only 'answers' is supported", details=[{"field": "include"}])
    limit_text = args.get("limit", str(DEFAULT_PAGE))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
        raise InvalidRequest(
            f"limit: expected an integer from 1 to {MAX_PAGE}", details=[{"field": "limit"}]
        )
    return Query(
        after=_cursor(args["cursor"]) if "cursor" in args else 0,
        limit=int(limit_text) if paged else None,
        since=_since(args["since"]) if "since" in args else None,
        include_answers=bool(include),
    )
