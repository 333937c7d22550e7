"""Errors of the workers domain: one base, ``WorkerError``, and narrow subclasses."""

from __future__ import annotations

from core.errors import KaziError


class WorkerError(KaziError):
    """Base of every error raised by the workers domain."""

    code = "worker_error"


class PinRefused(WorkerError):
    """A PIN check failed; ``reason`` is ``wrong_pin``, ``pin_locked`` or ``no_pin``."""

    http_status = 403
    code = "pin_refused"

    def __init__(self, reason: str, message: str, *, attempts_left: int = 0) -> None:
        super().__init__(message, details=[{"reason": reason, "attempts_left": attempts_left}])
        self.reason = reason
        self.attempts_left = attempts_left


class ReasonRequired(WorkerError):
    """Blocking or unblocking a worker needs a reason for the audit log."""

    code = "reason_required"


class InvalidCentre(WorkerError):
    """A partner centre's details are not acceptable (name, country, registration code)."""

    http_status = 422
    code = "invalid_centre"
