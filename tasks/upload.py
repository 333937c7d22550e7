"""Task uploads: a JSON array or a CSV file, every row checked, all stored or none.

Rows are numbered from 1 in the order given (for CSV, the first line after the
header is row 1). Every problem of every row is reported at once, as
``{"row", "field", "problem"}``, so a requester fixes a file in one go.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.languages import is_language_code
from tasks.answers import normalise_answer
from tasks.errors import InvalidAnswer, InvalidUpload
from tasks.models import Project, Task
from tasks.projects import TaskSpec, add_task_rows, answer_spec
from tasks.screens import MAX_PAGES, PAGE_UNITS, fits_screens, task_menu

MAX_TASKS_PER_UPLOAD = 10_000
FIELDS = ("text", "external_id", "gold_answer", "gold_reason", "language")
#: A gold reason is one line under the right answer on a worker's next screen.
GOLD_REASON_MAX = 80
_MAX_EXTERNAL_ID = 200
_LOOKUP_CHUNK = 500


def _body_error(problem: str) -> InvalidUpload:
    return InvalidUpload(problem, details=[{"field": "body", "problem": problem}])


def parse_body(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """Read an upload body as rows of fields, from JSON (an array of objects) or CSV."""
    if content_type.split(";")[0].strip().lower() in ("text/csv", "application/csv"):
        return _parse_csv(body)
    try:
        rows = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise _body_error("the body is not valid JSON") from None
    if not isinstance(rows, list):
        raise _body_error("expected a JSON array of tasks")
    return rows


def _parse_csv(body: bytes) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError:
        raise _body_error("the CSV is not UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        raise _body_error("the CSV needs a header line with at least a text column")
    unknown = sorted(set(reader.fieldnames) - set(FIELDS))
    if unknown:
        problems = [
            {"field": name, "problem": "unknown CSV column", "allowed": list(FIELDS)}
            for name in unknown
        ]
        raise InvalidUpload(f"unknown CSV columns: {', '.join(unknown)}", details=problems)
    # Empty cells mean "not given", as a spreadsheet user expects.
    return [{k: v for k, v in row.items() if v not in ("", None)} for row in reader]


def validate_rows(session: Session, project: Project, rows: Sequence[Any]) -> list[TaskSpec]:
    """Check every row against the project; raise InvalidUpload listing all problems."""
    if not rows:
        raise _body_error("no tasks given")
    if len(rows) > MAX_TASKS_PER_UPLOAD:
        raise _body_error(f"at most {MAX_TASKS_PER_UPLOAD} tasks per request, got {len(rows)}")
    errors: list[dict[str, Any]] = []
    specs: list[TaskSpec] = []
    menu = task_menu(project.task_type, project.options)
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        spec, problems = check_row(project, row, menu)
        for field, message in problems:
            errors.append({"row": number, "field": field, "problem": message})
        if spec is not None and spec.external_id is not None:
            if spec.external_id in seen:
                message = f"external_id repeats row {seen[spec.external_id]}"
                errors.append({"row": number, "field": "external_id", "problem": message})
            seen.setdefault(spec.external_id, number)
        if spec is not None:
            specs.append(spec)
    for external_id in _existing_ids(session, project.id, list(seen)):
        message = "a task with this external_id already exists"
        errors.append({"row": seen[external_id], "field": "external_id", "problem": message})
    if errors:
        errors.sort(key=lambda e: (e["row"], e["field"]))
        raise InvalidUpload(
            f"{len(errors)} problem(s) in the tasks; nothing stored", details=errors
        )
    return specs


def check_row(
    project: Project, row: Any, menu: str
) -> tuple[TaskSpec | None, list[tuple[str, str]]]:
    if not isinstance(row, dict):
        return None, [("row", "expected an object with a text field")]
    problems: list[tuple[str, str]] = []
    for name in sorted(set(row) - set(FIELDS)):
        problems.append((name, f"unknown field; expected one of {', '.join(FIELDS)}"))
    text, external_id, gold = row.get("text"), row.get("external_id"), row.get("gold_answer")
    if not isinstance(text, str) or not text.strip():
        problems.append(("text", "required, a non-empty string"))
    elif not fits_screens(text.strip(), menu):
        problems.append(
            (
                "text",
                f"too long for USSD: text and options must fit {MAX_PAGES} screens "
                f"of {PAGE_UNITS} characters",
            )
        )
    if external_id is not None and (
        not isinstance(external_id, str | int) or not 0 < len(str(external_id)) <= _MAX_EXTERNAL_ID
    ):
        problems.append(("external_id", f"a string of 1-{_MAX_EXTERNAL_ID} characters"))
    gold_value = _check_gold(project, gold, problems)
    language = _check_language(project, row.get("language"), problems)
    reason = _check_gold_reason(row.get("gold_reason"), gold, problems)
    if problems:
        return None, problems
    ext = None if external_id is None else str(external_id)
    spec = TaskSpec(
        text=str(text).strip(),
        external_id=ext,
        gold_answer=gold_value,
        gold_reason=reason,
        language=language,
    )
    return spec, []


def _check_language(project: Project, value: Any, problems: list[tuple[str, str]]) -> str | None:
    if value is None:
        return None  # a task without a language goes to anyone the project takes
    code = value.strip().lower() if isinstance(value, str) else value
    if not is_language_code(code):
        problems.append(("language", "an ISO 639-1 code such as 'sw'"))
        return None
    if project.languages and code not in project.languages:
        allowed = ", ".join(project.languages)
        problems.append(("language", f"not one of the project's languages ({allowed})"))
        return None
    return str(code)


def _check_gold_reason(reason: Any, gold: Any, problems: list[tuple[str, str]]) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str) or not reason.strip() or "\n" in reason:
        problems.append(("gold_reason", "one line of text"))
    elif len(reason.strip()) > GOLD_REASON_MAX:
        problems.append(("gold_reason", f"at most {GOLD_REASON_MAX} characters"))
    elif gold is None:
        problems.append(("gold_reason", "only a gold task (with a gold_answer) has a reason"))
    else:
        return reason.strip()
    return None


def _check_gold(project: Project, gold: Any, problems: list[tuple[str, str]]) -> str | None:
    if gold is None:
        return None
    try:
        # The same rules as a worker's answer, so a gold answer is one a worker can give.
        return str(normalise_answer(answer_spec(project), str(gold), lang="en"))
    except InvalidAnswer as error:
        problems.append(("gold_answer", f"not a valid answer for this project: {error.message}"))
        return None


def _existing_ids(session: Session, project_id: int, external_ids: list[str]) -> list[str]:
    found: list[str] = []
    for start in range(0, len(external_ids), _LOOKUP_CHUNK):
        chunk = external_ids[start : start + _LOOKUP_CHUNK]
        stmt = select(Task.external_id).where(
            Task.project_id == project_id, Task.external_id.in_(chunk)
        )
        found.extend(e for e in session.scalars(stmt) if e is not None)
    return found


def upload_tasks(session: Session, project: Project, rows: Sequence[Any]) -> list[Task]:
    """Validate and add a batch of tasks to a project, all or nothing; returns the new tasks."""
    return add_task_rows(session, project, validate_rows(session, project, rows))
