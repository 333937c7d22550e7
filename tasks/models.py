"""Requesters, their projects, the tasks in them and workers' assignments to tasks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, created_at, currency_code, intpk, money_minor, str_enum, updated_at
from tasks.answers import TaskType  # pure module: the flow layer uses it without SQLAlchemy

__all__ = [
    "Assignment",
    "AssignmentStatus",
    "CreditLine",
    "Deposit",
    "DepositChannel",
    "DepositStatus",
    "IdempotencyKey",
    "Project",
    "ProjectStatus",
    "Requester",
    "ReviewStatus",
    "Task",
    "TaskStatus",
    "TaskType",
    "WorkerProjectStats",
]


class ProjectStatus(StrEnum):
    """A project's lifecycle: only active projects hand out tasks."""

    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class TaskStatus(StrEnum):
    """Open tasks still want answers; complete ones have their result; cancelled ones are never served."""

    OPEN = "open"
    COMPLETE = "complete"
    # Cancelled by the requester before it completed (tasks.cancellation): final.
    CANCELLED = "cancelled"


class AssignmentStatus(StrEnum):
    """A worker's hold on a task: reserved, then answered, skipped or expired (or a quiz item)."""

    RESERVED = "reserved"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    # A gold task asked in the qualification quiz: unpaid, and never served again.
    QUIZ = "quiz"


class ReviewStatus(StrEnum):
    """An answer held for an operator: pending until accepted (paid) or rejected (not paid)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


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
        CheckConstraint("max_answers >= answers_per_task", name="max_answers_at_least_redundancy"),
        CheckConstraint(
            "target_confidence >= 0 AND target_confidence <= 1", name="target_confidence_fraction"
        ),
        CheckConstraint("reservation_minutes >= 1", name="reservation_minutes_positive"),
        CheckConstraint(
            "quiz_pass_mark >= 0 AND quiz_pass_mark <= 1", name="quiz_pass_mark_fraction"
        ),
        CheckConstraint("reserved_count >= 0", name="reserved_count_non_negative"),
        CheckConstraint("paid_minor >= 0", name="paid_non_negative"),
        # The budget guard: wages paid plus wages promised to held answers never exceed
        # the funding, however many workers ask at once (the database refuses otherwise).
        CheckConstraint(
            "paid_minor + reserved_count * reward_minor <= budget_minor", name="within_budget"
        ),
        Index("ix_projects_status_priority", "status", "priority"),
    )

    id: Mapped[intpk]
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    task_type: Mapped[TaskType] = mapped_column(str_enum(TaskType))
    instructions: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(default=list)
    # Instructions and options per language (ISO 639-1), shown to a worker in it:
    # {"sw": {"instructions": str, "options": [str, one per option, in order]}}.
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
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
    aggregator: Mapped[str] = mapped_column(String(20), default="majority")
    # Defaults come from tasks.projects.ProjectSpec (adaptive redundancy); these only
    # serve rows built without a spec.
    target_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    max_answers: Mapped[int] = mapped_column(Integer, default=3)
    min_seconds_per_answer: Mapped[float] = mapped_column(Float, default=3.0)
    # Share of qualification quiz questions a worker must get right to work on the project.
    quiz_pass_mark: Mapped[float] = mapped_column(Float, default=0.8, server_default="0.8")
    reservation_minutes: Mapped[int] = mapped_column(Integer, default=10)
    # Answers reserved or held for review, not yet paid: money promised out of the budget.
    reserved_count: Mapped[int] = mapped_column(Integer, default=0)
    # Wages paid so far; with budget_minor it mirrors the ledger's project budget account
    # as O(1) counters, so assignment never sums ledger entries.
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    @property
    def free_budget_minor(self) -> int:
        """The budget neither paid nor promised to a worker holding a task (the
        ``within_budget`` constraint keeps it at zero or more)."""
        return self.budget_minor - self.paid_minor - self.reserved_count * self.reward_minor


class Task(Base):
    """One item to answer; a gold task carries its known answer."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        CheckConstraint("answers_count >= 0", name="answers_count_non_negative"),
        CheckConstraint("reserved_count >= 0", name="reserved_count_non_negative"),
        # Redundancy enforced by the database: a non-gold task never holds more answers
        # and reservations than it wants (gold tasks are answered by every worker once).
        CheckConstraint(
            "is_gold OR answers_count + reserved_count <= wanted_answers", name="within_redundancy"
        ),
        Index("ix_tasks_project_id_status_is_gold_id", "project_id", "status", "is_gold", "id"),
    )

    id: Mapped[intpk]
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # The language of the text (ISO 639-1): offered only to workers who do tasks in it.
    language: Mapped[str | None] = mapped_column(String(2))
    gold_answer: Mapped[str | None] = mapped_column(String(200))
    # The project's one-line why, shown to a worker who missed this gold task.
    gold_reason: Mapped[str | None] = mapped_column(String(80))
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus), default=TaskStatus.OPEN)
    answers_count: Mapped[int] = mapped_column(Integer, default=0)
    reserved_count: Mapped[int] = mapped_column(Integer, default=0)
    # Starts at the project's answers_per_task; grows to max_answers while unsure.
    wanted_answers: Mapped[int] = mapped_column(Integer, default=3)
    result: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    completed_at: Mapped[datetime | None]
    created_at: Mapped[created_at]


class Assignment(Base):
    """A worker's reservation of a task and, once given, their answer."""

    __tablename__ = "assignments"
    __table_args__ = (
        # One answer per worker per task, whatever the client retries.
        UniqueConstraint("task_id", "worker_id"),
        CheckConstraint("seconds_taken IS NULL OR seconds_taken >= 0", name="seconds_non_negative"),
        Index("ix_assignments_worker_id_status", "worker_id", "status"),
        Index("ix_assignments_status_expires_at", "status", "expires_at"),
        Index("ix_assignments_review_status_id", "review_status", "id"),
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
    flag_reason: Mapped[str | None] = mapped_column(String(40))
    review_status: Mapped[ReviewStatus | None] = mapped_column(str_enum(ReviewStatus))
    # Only for gold tasks: whether the answer matched the known one.
    correct: Mapped[bool | None] = mapped_column(Boolean)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)


class WorkerProjectStats(Base):
    """A worker's gold record on one project: what eligibility and weighting read in O(1)."""

    __tablename__ = "worker_project_stats"
    __table_args__ = (
        CheckConstraint("gold_correct >= 0 AND gold_correct <= gold_answered", name="gold_counts"),
    )

    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    gold_answered: Mapped[int] = mapped_column(Integer, default=0)
    gold_correct: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(Base):
    """A requester's idempotency key and the answer first given to it, replayed on repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("requester_id", "key"),)

    id: Mapped[intpk]
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]


class DepositChannel(StrEnum):
    """How a requester's money reached Kazi."""

    BANK = "bank"
    MPESA = "mpesa"


class DepositStatus(StrEnum):
    """A recorded deposit counts once approved (at once when maker-checker is off)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Deposit(Base):
    """Money a requester paid in, recorded by an operator with the payment's own reference."""

    __tablename__ = "deposits"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        # Maker-checker: whoever decides on a pending deposit did not record it.
        CheckConstraint(
            "decided_by IS NULL OR recorded_by IS NULL OR decided_by <> recorded_by",
            name="checker_is_not_maker",
        ),
        # A bank or M-Pesa reference pays in once; a rejected record frees it for a
        # corrected one.
        Index(
            "uq_deposits_reference",
            "reference",
            unique=True,
            postgresql_where=text("status <> 'rejected'"),
            sqlite_where=text("status <> 'rejected'"),
        ),
        Index("ix_deposits_requester_id_id", "requester_id", "id"),
        Index("ix_deposits_status_id", "status", "id"),
    )

    id: Mapped[intpk]
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.id"))
    amount_minor: Mapped[money_minor]
    currency: Mapped[currency_code]
    channel: Mapped[DepositChannel] = mapped_column(str_enum(DepositChannel))
    reference: Mapped[str] = mapped_column(String(100))  # upper case, as the statement shows it
    note: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[DepositStatus] = mapped_column(str_enum(DepositStatus))
    # Console operators; None when the command line or the demo seed recorded it.
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    recorded_at: Mapped[created_at]
    decided_at: Mapped[datetime | None]


class CreditLine(Base):
    """A limit an admin grants: how far below zero a requester's funding may go.

    Rows are never changed: a new grant (a higher or lower limit, or 0 to end it)
    is a new row, and the latest per requester and currency is the one in force.
    """

    __tablename__ = "credit_lines"
    __table_args__ = (
        CheckConstraint("limit_minor >= 0", name="limit_non_negative"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        Index("ix_credit_lines_requester_id_currency_id", "requester_id", "currency", "id"),
    )

    id: Mapped[intpk]
    requester_id: Mapped[int] = mapped_column(ForeignKey("requesters.id"))
    currency: Mapped[currency_code]
    limit_minor: Mapped[money_minor]
    reason: Mapped[str | None] = mapped_column(String(200))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    created_at: Mapped[created_at]


class ResultSnapshot(Base):
    """A project's results as last aggregated over all its answers, one row per version.

    Written by the ``tasks.jobs.refresh_results`` job, read by the results API, so
    no request ever runs a whole-project model. ``results`` holds ``tasks`` (per
    task id: label, confidence, answers, tied, and when that result last changed)
    and ``workers`` (per worker id: counted answers and how many agree with the
    results).
    """

    __tablename__ = "result_snapshots"
    __table_args__ = (
        UniqueConstraint("project_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[intpk]
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    version: Mapped[int] = mapped_column(Integer)
    aggregator: Mapped[str] = mapped_column(String(20))
    answers_count: Mapped[int] = mapped_column(Integer)
    results: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created_at]


class WorkRecord(Base):
    """A worker's work record as sent by SMS, kept so an employer can verify it by code.

    Only a digest of the code is stored (``tasks.work_record``), and the facts as they
    were sent: no phone number, no name. ``earned`` maps a currency to minor units.
    """

    __tablename__ = "work_records"

    id: Mapped[intpk]
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    tasks_done: Mapped[int] = mapped_column(Integer)
    months_active: Mapped[int] = mapped_column(Integer)
    accuracy_band: Mapped[str | None] = mapped_column(String(10))
    earned: Mapped[dict[str, Any]] = mapped_column(default=dict)
    issued_at: Mapped[created_at]
