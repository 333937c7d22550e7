"""Request bodies of the requester API turned into domain specs, with field-named errors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import KaziError
from core.languages import is_language_code
from core.money import MAX_AMOUNT_MINOR, MINOR_UNITS, Money
from core.phone import is_country
from tasks.aggregation import AGGREGATORS
from tasks.answers import TaskType
from tasks.models import ProjectStatus, TaskStatus
from tasks.projects import DEFAULT_TARGET_CONFIDENCE, ProjectSpec
from tasks.results import DEFAULT_PAGE, MAX_PAGE, Query


class InvalidRequest(KaziError):
    """A request that does not match the documented schema; ``details`` lists every problem.

    Each problem is ``{"field", "problem"}`` (and ``allowed`` for a value outside an
    enum): the API answers them all at once as ``{"errors": [...]}``, status 422.
    """

    http_status = 422
    code = "invalid_request"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        super().__init__(message, details=problems)


def refuse(field: str, problem: str, **extra: Any) -> InvalidRequest:
    """The error for one problem with one field."""
    return InvalidRequest([{"field": field, "problem": problem, **extra}])


_NUMBERS = (int, float)


class _Reader:
    """Reads the fields of a JSON object, collecting every problem rather than the first."""

    def __init__(self, body: Any, fields: Collection[str]) -> None:
        if not isinstance(body, dict):
            raise refuse("body", "expected a JSON object")  # no field to name beyond it
        self.problems: list[dict[str, Any]] = []
        self.body: dict[str, Any] = body
        for name in sorted(set(self.body) - set(fields)):
            self.add(name, "unknown field", allowed=sorted(fields))

    def add(self, field: str, problem: str, **extra: Any) -> None:
        self.problems.append({"field": field, "problem": problem, **extra})

    def check(self) -> None:
        if self.problems:
            raise InvalidRequest(self.problems)

    def field(
        self,
        name: str,
        kinds: Any,
        expect: str,
        default: Any = ...,
        check: Callable[[Any], bool] | None = None,
    ) -> Any:
        """The field's value; on a problem, record ``expect`` and return None."""
        if name not in self.body:
            if default is ...:
                self.add(name, f"required: {expect}")
                return None
            return default
        value = self.body[name]
        accepted = kinds if isinstance(kinds, tuple) else (kinds,)
        wrong_bool = isinstance(value, bool) and bool not in accepted
        if wrong_bool or not isinstance(value, kinds) or (check is not None and not check(value)):
            self.add(name, f"expected {expect}")
            return None
        return value

    def choice(self, name: str, allowed: Collection[str], default: Any = ...) -> Any:
        """A string out of ``allowed``; a problem lists them."""
        value = self.field(name, str, f"one of {', '.join(allowed)}", default)
        if value is not None and value not in allowed:
            self.add(name, f"expected one of {', '.join(allowed)}", allowed=list(allowed))
            return None
        return value

    def money(self, name: str, minimum: int = 0, default: Any = ...) -> Money | None:
        expect = f"{{amount: integer minor units from {minimum} to {MAX_AMOUNT_MINOR}, currency}}"
        value = self.field(name, dict, expect, default)
        if not isinstance(value, dict):
            return None
        amount, currency = value.get("amount"), value.get("currency")
        if (
            not isinstance(amount, int)
            or isinstance(amount, bool)
            or not minimum <= amount <= MAX_AMOUNT_MINOR
            or not isinstance(currency, str)
        ):
            self.add(name, f"expected {expect}")
            return None
        if currency not in MINOR_UNITS:
            allowed = sorted(MINOR_UNITS)
            self.add(f"{name}.currency", f"expected one of {', '.join(allowed)}", allowed=allowed)
            return None
        return Money(amount, currency)

    def strings(self, name: str, default: list[str]) -> list[str]:
        value = self.field(name, list, "a list of non-empty strings", default)
        if value is None:
            return []
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.add(name, "expected a list of non-empty strings")
            return []
        return list(value)

    def codes(self, name: str, default: list[str], standard: str) -> list[str]:
        """ISO codes (languages lower case, countries upper case), checked and de-duplicated.

        An empty list means any, as the assignment reads it (``tasks.assignment``).
        """
        values = self.strings(name, default)
        is_code, fold = (
            (is_language_code, str.lower) if standard == LANGUAGE else (is_country, str.upper)
        )
        codes = list(dict.fromkeys(fold(v.strip()) for v in values))
        bad = [v for v in codes if not is_code(v)]
        if bad:
            self.add(name, f"not {standard} codes: {', '.join(bad)}")
        return codes


LANGUAGE = "ISO 639-1 language"
COUNTRY = "ISO 3166-1 alpha-2 country"


def project_spec(body: Any) -> ProjectSpec:
    """Read a create-project body (see the OpenAPI document) into a ProjectSpec."""
    read = _Reader(body, PROJECT_FIELDS)
    fraction = lambda v: 0 <= v <= 1  # noqa: E731
    between_0_1 = "a number from 0 to 1"
    values = {
        "name": read.field(
            "name", str, "a string of 1-200 characters", check=lambda v: 0 < len(v.strip()) <= 200
        ),
        "task_type": read.choice("task_type", [str(t) for t in TaskType]),
        "instructions": read.field(
            "instructions",
            str,
            "a string of 1-2000 characters",
            check=lambda v: 0 < len(v.strip()) <= 2000,
        ),
        "options": read.strings("options", []),
        "reward": read.money("reward", minimum=1),
        "budget": read.money("budget"),
        "answers_per_task": read.field(
            "answers_per_task", int, "an integer from 1 to 50", 3, lambda v: 1 <= v <= 50
        ),
        "gold_rate": read.field("gold_rate", _NUMBERS, between_0_1, 0.1, fraction),
        "min_accuracy": read.field("min_accuracy", _NUMBERS, between_0_1, 0.0, fraction),
        "languages": read.codes("languages", ["en"], LANGUAGE),
        "countries": read.codes("countries", ["KE"], COUNTRY),
        "priority": read.field(
            "priority", int, "an integer from -1000 to 1000", 0, lambda v: -1000 <= v <= 1000
        ),
        "aggregator": read.choice("aggregator", sorted(AGGREGATORS), "majority"),
        "target_confidence": read.field(
            "target_confidence", _NUMBERS, between_0_1, DEFAULT_TARGET_CONFIDENCE, fraction
        ),
        "max_answers": read.field(
            "max_answers",
            (int, type(None)),
            "an integer from 1 to 50, or null",
            None,
            lambda v: v is None or 1 <= v <= 50,
        ),
        "min_seconds_per_answer": read.field(
            "min_seconds_per_answer",
            _NUMBERS,
            "a number of seconds from 0 to 3600",
            3.0,
            lambda v: 0 <= v <= 3600,
        ),
        "reservation_minutes": read.field(
            "reservation_minutes", int, "an integer from 1 to 1440", 10, lambda v: 1 <= v <= 1440
        ),
        "quiz_pass_mark": read.field("quiz_pass_mark", _NUMBERS, between_0_1, 0.8, fraction),
        "webhook_url": read.field(
            "webhook_url",
            (str, type(None)),
            "an http(s) URL of at most 500 characters, or null",
            None,
            _is_http_url,
        ),
        # Checked by the tasks service (tasks.projects), which knows the options.
        "translations": read.field(
            "translations", dict, "an object of language code to instructions and options", {}
        ),
    }
    read.check()
    return ProjectSpec(
        **{
            **values,
            "task_type": TaskType(values["task_type"]),
            "gold_rate": float(values["gold_rate"]),
            "min_accuracy": float(values["min_accuracy"]),
            "target_confidence": float(values["target_confidence"]),
            "min_seconds_per_answer": float(values["min_seconds_per_answer"]),
            "quiz_pass_mark": float(values["quiz_pass_mark"]),
        }
    )


def top_up_amount(body: Any) -> Money:
    """Read a top-up body, ``{"amount": {"amount", "currency"}}``, into the Money to add."""
    read = _Reader(body, {"amount"})
    amount = read.money("amount", minimum=1)
    read.check()
    assert amount is not None  # read.check() raised otherwise
    return amount


@dataclass(frozen=True)
class ProjectEdit:
    """A PATCH of a project: each field None when not given."""

    priority: int | None = None
    status: ProjectStatus | None = None
    top_up: Money | None = None


#: The statuses a PATCH may set; closing is its own, final, call (POST .../close).
EDITABLE_STATUSES = (ProjectStatus.ACTIVE.value, ProjectStatus.PAUSED.value)


def project_edit(body: Any) -> ProjectEdit:
    """Read a PATCH body: ``priority``, ``status`` (active or paused), ``top_up`` (Money)."""
    read = _Reader(body, {"priority", "status", "top_up"})
    priority = read.field(
        "priority", int, "an integer from -1000 to 1000", None, lambda v: -1000 <= v <= 1000
    )
    status = read.choice("status", EDITABLE_STATUSES, None)
    top_up = read.money("top_up", minimum=1, default=None)
    if not read.problems and not read.body:
        read.add("body", "expected at least one of priority, status, top_up")
    read.check()
    return ProjectEdit(
        priority=priority,
        status=ProjectStatus(status) if status is not None else None,
        top_up=top_up,
    )


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
        raise refuse("cursor", "not a cursor this API gave out") from None


def _since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise refuse("since", "expected an ISO 8601 date-time, e.g. 2026-12-01T08:00:00Z") from None
    # A time without a zone is read as UTC, the zone every stored time is in.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def page_query(
    args: Mapping[str, str],
    *,
    paged: bool = True,
    allowed: Collection[str] = ("cursor", "limit", "since", "include"),
) -> Query:
    """Read ``cursor``, ``limit``, ``since`` and ``include`` query parameters into a Query.

    ``allowed`` names the parameters this endpoint takes; every problem is reported at once.
    """
    problems: list[dict[str, Any]] = [
        {"field": name, "problem": "unknown parameter", "allowed": sorted(allowed)}
        for name in sorted(set(args) - set(allowed))
    ]
    include = args.get("include", "")
    if include not in ("", "answers"):
        problems.append({"field": "include", "problem": "expected answers", "allowed": ["answers"]})
    limit_text = args.get("limit", str(DEFAULT_PAGE))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
        problems.append({"field": "limit", "problem": f"expected an integer from 1 to {MAX_PAGE}"})
    after = since = None
    for name, read in (("cursor", _cursor), ("since", _since)):
        if name in args:
            try:
                value = read(args[name])
            except InvalidRequest as error:
                problems.extend(error.details)
                continue
            after, since = (value, since) if name == "cursor" else (after, value)
    if problems:
        raise InvalidRequest(problems)
    return Query(
        after=after if isinstance(after, int) else 0,
        limit=int(limit_text) if paged else None,
        since=since if isinstance(since, datetime) else None,
        include_answers=bool(include),
    )


def task_status(value: str | None) -> TaskStatus | None:
    """Read the ``status`` filter of the task list (None: every status)."""
    if value is None:
        return None
    allowed = [str(s) for s in TaskStatus]
    if value not in allowed:
        raise refuse("status", f"expected one of {', '.join(allowed)}", allowed=allowed)
    return TaskStatus(value)
