"""How a task fits on USSD screens: the menu under its text and the paging rule for uploads.

Decision (documented in the report and README): a task screen is the task text, a
newline, the numbered options and "0 Skip". Long text is paged by the flow layer
with "98 More", so each page holds ``PAGE_UNITS`` = 178 - len("\\n98 More") = 170
units; a task is accepted when text and menu together fit ``MAX_PAGES`` = 3 pages
and the menu alone fits one page (it must appear whole on the last one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.medium import USSD_MAX_TEXT, ussd_length
from tasks.answers import TaskType

MORE_KEY = "\n98 More"
SKIP_LINE = "0 Skip"
PAGE_UNITS = USSD_MAX_TEXT - len(MORE_KEY)
MAX_PAGES = 3


def task_menu(task_type: TaskType, options: Sequence[str]) -> str:
    """The lines shown under a task's text: numbered options (if any) and "0 Skip"."""
    if task_type is TaskType.SINGLE_CHOICE:
        labels = list(options)
    elif task_type is TaskType.YES_NO:
        labels = list(options) if len(options) == 2 else ["Yes", "No"]
    else:
        labels = []
    lines = [f"{i} {label}" for i, label in enumerate(labels, start=1)]
    return "\n".join([*lines, SKIP_LINE])


def screen_units(text: str, menu: str) -> int:
    """The USSD units a task's text and its menu take together."""
    return ussd_length(f"{text}\n{menu}")


def fits_screens(text: str, menu: str, *, max_pages: int = MAX_PAGES) -> bool:
    """Tell whether a task's text and menu fit ``max_pages`` paged USSD screens."""
    return ussd_length(menu) <= PAGE_UNITS and screen_units(text, menu) <= max_pages * PAGE_UNITS


def task_screen_values(
    task_id: int | None, instructions: str, text: str, task_type: TaskType, options: Sequence[str]
) -> dict[str, Any]:
    """A task as the flow engine's task screen shows it (the project's instructions first).

    ``options`` are the answer labels (``tasks.projects.answer_spec``): empty for a
    yes/no task, whose labels the engine translates into the worker's language.
    """
    shown = f"{instructions}\n{text}" if instructions else text
    return {
        "task_id": task_id,
        "text": shown,
        "task_type": str(task_type),
        "options": list(options),
    }
