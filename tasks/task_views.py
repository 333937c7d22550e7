"""A reserved task as a worker is shown it: the view the flow layer renders, in the
translation of the project that fits the worker's languages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.money import Money
from tasks.models import Assignment, Project, Task, TaskType
from tasks.screens import task_menu


@dataclass(frozen=True)
class TaskView:
    """What the flow layer shows a worker: one reserved task and how to answer it.

    ``instructions`` and ``options`` are in the worker's language when the project has
    a translation in it; ``answers`` are the project's own options, one per label.
    """

    assignment_id: int
    task_id: int
    project_id: int
    task_type: TaskType
    instructions: str
    text: str
    options: tuple[str, ...]
    menu: str
    reward: Money
    expires_at: datetime
    resumed: bool
    answers: tuple[str, ...] = ()
    language: str | None = None  # of the instructions and options shown; None: the project's


def task_view(
    session: Session, assignment: Assignment, *, resumed: bool, languages: Sequence[str] = ()
) -> TaskView:
    task = session.get_one(Task, assignment.task_id)
    project = session.get_one(Project, task.project_id)
    return view_of(
        project,
        assignment.id,
        task.id,
        task.text,
        assignment.expires_at,
        resumed,
        content_language(project.translations or {}, task.language, languages),
    )


def view_of(
    project: Project,
    assignment_id: int,
    task_id: int,
    text: str,
    expires_at: datetime,
    resumed: bool,
    language: str | None,
) -> TaskView:
    answers = tuple(project.options) if project.task_type is TaskType.SINGLE_CHOICE else ()
    texts = (project.translations or {}).get(language or "", {})
    options = tuple(texts.get("options") or answers) if answers else ()
    return TaskView(
        assignment_id=assignment_id,
        task_id=task_id,
        project_id=project.id,
        task_type=project.task_type,
        instructions=texts.get("instructions") or project.instructions,
        text=text,
        options=options,
        menu=task_menu(project.task_type, list(options) or project.options),
        reward=Money(project.reward_minor, project.currency),
        expires_at=expires_at,
        resumed=resumed,
        answers=answers,
        language=language,
    )


def content_language(
    translations: Mapping[str, Any], task_language: str | None, languages: Sequence[str]
) -> str | None:
    """The translation to show a task in: the task's own language when it has one, else
    the first of the worker's languages (screen language first) the project translates;
    None: the project's own instructions and options."""
    if task_language:
        return task_language if task_language in translations else None
    return next((code for code in languages if code in translations), None)
