"""Errors of the requester API as the one shape of a validation failure.

``{"errors": [{"field", "problem", "row"?, "allowed"?}]}``: every problem at once,
each naming the field (``body`` for the request as a whole), the row of an upload
(numbered from 1), and for a value outside a fixed set the values allowed.
"""

from __future__ import annotations

from typing import Any

from core.errors import KaziError

#: The keys a problem may carry beyond field and problem.
_EXTRA = ("row", "allowed")


def problems_of(error: KaziError) -> list[dict[str, Any]]:
    """The problems an error names, in the API's shape (one naming the body if it names none)."""
    problems = []
    for detail in error.details:
        if isinstance(detail, dict) and isinstance(detail.get("field"), str):
            text = detail.get("problem") or detail.get("message") or error.message
            extra = {k: detail[k] for k in _EXTRA if k in detail}
            problems.append({"field": detail["field"], "problem": str(text), **extra})
    return problems or [{"field": "body", "problem": error.message}]
