"""Learning from mistakes: what a worker is told after missing a gold task, and the tip
the earnings screen gives for their accuracy.

Telling a worker the right answer and why, at once, is how gold tasks teach instead of
only grading (feedback on gold units as training: Oleson et al., "Programmatic Gold:
Targeted and Scalable Quality Assurance in Crowdsourcing", HCOMP 2011).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tasks.answers import TaskType
from tasks.models import Assignment, Project, Task

#: The accuracy under which the earnings screen's tip asks for more care.
CAREFUL_BELOW = 0.75


@dataclass(frozen=True)
class MissedGold:
    """A gold task answered wrong: the right answer (canonical) and the project's reason."""

    task_type: TaskType
    answer: str
    reason: str | None


def missed_gold(session: Session, assignment_id: int) -> MissedGold | None:
    """The gold this answer missed, or None when it was right or not a gold task."""
    assignment = session.get_one(Assignment, assignment_id)
    if assignment.correct is not False:
        return None
    task = session.get_one(Task, assignment.task_id)
    if task.gold_answer is None:
        return None
    project = session.get_one(Project, task.project_id)
    return MissedGold(project.task_type, task.gold_answer, task.gold_reason)


def accuracy_tip(accuracy: float | None) -> str:
    """Which earnings tip fits this accuracy: "new" (no gold yet), "low" or "good"."""
    if accuracy is None:
        return "new"
    return "low" if accuracy < CAREFUL_BELOW else "good"
