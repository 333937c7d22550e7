"""Requesters, their projects, the tasks in them and workers' assignments to tasks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, created_at, currency_code, intpk, money_minor, str_enum, updated_at
from tasks.answers import TaskType  # pure module: the flow layer uses it without SQLAlchemy

__all__ = [
    "Assignment",
    "AssignmentStatus",
    "Project",
    "ProjectStatus",
    "Requester",
    "Task",
    "TaskStatus",
    "TaskType",
]


class ProjectStatus(StrEnum):
    """A project's lifecycle: only active projects hand out tasks."""

    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class TaskStatus(StrEnum):
    """Open tasks still want answers; complete ones have their result."""

    OPEN = "open"
    COMPLETE = "complete"


class AssignmentStatus(StrEnum):
    """A worker's hold on a task: reserved, then answered, skipped or expired."""

    RESERVED = "reserved"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class Requester(Base):
    """An organisation that brings tasks and pays for answers, using the API."""

    __tablename__ = "requesters"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    # Only a SHA-256 of the key is kept; the key itself is shown once, at creation.
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(12))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]


class Project(Base):
    """A batch of tasks of one type, with its pay, redundancy and quality settings."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("reward_minor > 0", name="reward_positive"),
        CheckConstraint("budget_minor >= 0", name="budget_non_negative"),
        CheckConstraint("answers_per_task >= 1", name="answers_per_task_positive"),
        CheckConstraint("gold_rate >= 0 AND gold_rate <= 1", name="gold_rate_fraction"),
        CheckConstraint("min_accuracy >= 0 AND min_accuracy <= 1", name="min_accuracy_fraction"),
        Index("ix_projects_status_priority", "status", "priority"),
    )

    id: Mapped[intpk]
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    task_type: Mapped[TaskType] = mapped_column(str_enum(TaskType))
    instructions: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(default=list)
    reward_minor: Mapped[money_minor]
    currency: Mapped[currency_code]
    budget_minor: Mapped[money_minor]
    answers_per_task: Mapped[int] = mapped_column(Integer, default=3)
    gold_rate: Mapped[float] = mapped_column(Float, default=0.1)
    min_accuracy: Mapped[float] = mapped_column(Float, default=0.0)
    languages: Mapped[list[str]] = mapped_column(default=list)
    countries: Mapped[list[str]] = mapped_column(default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[ProjectStatus] = mapped_column(
        str_enum(ProjectStatus), default=ProjectStatus.ACTIVE
    )
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class Task(Base):
    """One item to answer; a gold task carries its known answer."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        CheckConstraint("answers_count >= 0", name="answers_count_non_negative"),
        Index("ix_tasks_project_id_status", "project_id", "status"),
    )

    id: Mapped[intpk]
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    gold_answer: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus), default=TaskStatus.OPEN)
    answers_count: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]

    @property
    def is_gold(self) -> bool:
        return self.gold_answer is not None


class Assignment(Base):
    """A worker's reservation of a task and, once given, their answer."""

    __tablename__ = "assignments"
    __table_args__ = (
        # One answer per worker per task, whatever the client retries.
        UniqueConstraint("task_id", "worker_id"),
        CheckConstraint("seconds_taken IS NULL OR seconds_taken >= 0", name="seconds_non_negative"),
        Index("ix_assignments_worker_id_status", "worker_id", "status"),
        Index("ix_assignments_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[intpk]
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    status: Mapped[AssignmentStatus] = mapped_column(
        str_enum(AssignmentStatus), default=AssignmentStatus.RESERVED
    )
    reserved_at: Mapped[created_at]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    seconds_taken: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
