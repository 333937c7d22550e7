"""The root of Kazi's domain errors, mapped to HTTP once in the app factory.

Each domain package derives its own base (``GatewayError``, ``FlowError``,
``TaskError``, ``PayoutError``) from ``KaziError`` and narrow subclasses from that.
Domain code raises these, never HTTP exceptions; the factory turns them into the
JSON error shape of the design: ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any, TypedDict


class ErrorInfo(TypedDict):
    code: str
    message: str
    details: list[Any]  # whatever helps the caller fix it: field names, limits


class ErrorBody(TypedDict):
    """The JSON body of an error answer."""

    error: ErrorInfo


class KaziError(Exception):
    """A failure the caller can understand and act on (not a bug)."""

    #: HTTP status used when this error reaches a web request.
    http_status: int = 400
    #: Stable machine-readable code for API clients.
    code: str = "bad_request"

    def __init__(self, message: str, *, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_dict(self) -> ErrorBody:
        """The JSON body for this error."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(KaziError):
    """The thing does not exist, or belongs to someone else."""

    http_status = 404
    code = "not_found"


class Conflict(KaziError):
    """The request clashes with the current state (e.g. a closed project)."""

    http_status = 409
    code = "conflict"


class Unauthorized(KaziError):
    """Missing or wrong credentials."""

    http_status = 401
    code = "unauthorized"


class Forbidden(KaziError):
    """Credentials are fine but do not allow this (e.g. a bad webhook token)."""

    http_status = 403
    code = "forbidden"
