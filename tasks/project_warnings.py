"""What may keep a project from getting answers, said before a requester waits for them.

Two warnings, shown in the API's project answers and on the console's Projects page:

- ``budget_below_one_answer``: what is left of the budget (neither paid nor promised)
  cannot pay one more answer, so no task is served until a top-up;
- ``no_eligible_worker``: no registered, active worker has one of the project's
  countries and languages, so nobody is offered its tasks (a worker's languages are
  their screen language and the task languages they chose, ``workers.task_languages``).

A closed project has nothing to warn about.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import String, cast, exists, or_, select
from sqlalchemy.orm import Session

from core.money import Money
from tasks.models import Project, ProjectStatus
from workers.models import Worker, WorkerStatus


@dataclass(frozen=True)
class ProjectWarning:
    """A machine-readable code and a sentence saying what to do."""

    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The API shape."""
        return asdict(self)


def project_warnings(session: Session, project: Project) -> list[ProjectWarning]:
    """The warnings that apply to the project now (empty when none)."""
    if project.status == ProjectStatus.CLOSED:
        return []
    warnings: list[ProjectWarning] = []
    left = project.free_budget_minor
    if left < project.reward_minor:
        reward = Money(project.reward_minor, project.currency).format()
        remaining = Money(max(left, 0), project.currency).format()
        warnings.append(
            ProjectWarning(
                "budget_below_one_answer",
                f"the budget left ({remaining}) cannot pay one answer ({reward}): "
                "no task is served until you top it up",
            )
        )
    if not _someone_can_take(session, project):
        warnings.append(
            ProjectWarning(
                "no_eligible_worker",
                "no registered worker speaks "
                f"{'/'.join(project.languages) or 'any language'} in "
                f"{'/'.join(project.countries) or 'any country'}: nobody is offered its tasks",
            )
        )
    return warnings


def _someone_can_take(session: Session, project: Project) -> bool:
    # The same reading as tasks.assignment: an empty list means any.
    conditions = [
        Worker.registered_at.is_not(None),
        Worker.erased_at.is_(None),
        Worker.status == WorkerStatus.ACTIVE,
    ]
    if project.countries:
        conditions.append(Worker.country.in_(list(project.countries)))
    if project.languages:
        # A worker's task languages are a JSON list of ISO codes: a quoted code inside
        # its text is that code in the list, on SQLite and PostgreSQL alike.
        chosen = cast(Worker.languages, String)
        conditions.append(
            or_(
                Worker.language.in_(list(project.languages)),
                *(chosen.like(f'%"{code}"%') for code in project.languages),
            )
        )
    return bool(session.scalar(select(exists().where(*conditions))))
