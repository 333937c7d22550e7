"""Errors of the tasks domain: one base, ``TaskError``, and narrow subclasses.

The app factory maps them to HTTP once (via ``KaziError``); the flow layer catches
``InvalidAnswer`` and re-prompts the worker in their language using ``reason``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from core.errors import KaziError


class TaskError(KaziError):
    """Base of every error raised by the tasks domain."""

    code = "task_error"


class AnswerReason(StrEnum):
    """Why a worker's raw answer was refused; the flow layer picks a translated prompt by it."""

    EMPTY = "empty"
    NOT_AN_OPTION = "not_an_option"
    NOT_YES_NO = "not_yes_no"
    TOO_LONG = "too_long"
    NOT_A_NUMBER = "not_a_number"
    AMBIGUOUS_NUMBER = "ambiguous_number"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"


class InvalidAnswer(TaskError):
    """A worker's raw answer does not fit the task; ``reason`` and ``params`` say how."""

    http_status = 422
    code = "invalid_answer"

    def __init__(self, reason: AnswerReason, message: str, **params: Any) -> None:
        # Params (e.g. max_length, n_options) let the re-prompt say what would be accepted.
        super().__init__(message, details=[{"reason": str(reason), **params}])
        self.reason = reason
        self.params = params


class UnknownTaskType(TaskError):
    """A task type that Kazi does not know (not single_choice, yes_no, free_text, number)."""

    code = "unknown_task_type"


class InvalidTaskSpec(TaskError):
    """A project that cannot work (e.g. a single choice with one option).

    ``details`` lists each problem as ``{"field", "problem"}``.
    """

    http_status = 422
    code = "invalid_task_spec"


class UnknownLabel(TaskError):
    """An answer or gold label that is not in the task's label set."""

    code = "unknown_label"


class UnknownAggregator(TaskError):
    """A project setting names an aggregation method that does not exist."""

    code = "unknown_aggregator"


class NoReservation(TaskError):
    """The worker holds no reservation on this task (never served, or already released)."""

    http_status = 409
    code = "no_reservation"


class ReservationExpired(TaskError):
    """The worker's reservation on this task was skipped or expired; the task may be elsewhere."""

    http_status = 409
    code = "reservation_expired"


class InvalidUpload(TaskError):
    """A task upload with bad rows; ``details`` lists each as {"row", "field", "problem"}."""

    http_status = 422
    code = "invalid_tasks"


class InsufficientFunding(TaskError):
    """A budget beyond the requester's funding; ``details`` names the shortfall per currency."""

    http_status = 402
    code = "insufficient_funding"


class UnpayableCurrency(TaskError):
    """A wage in a currency no payout rail can pay out yet."""

    http_status = 422
    code = "unpayable_currency"


class DepositRefused(TaskError):
    """A deposit that cannot be recorded or decided (a reused reference, the maker approving)."""

    http_status = 409
    code = "deposit_refused"
