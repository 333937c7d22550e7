"""The impact domain's errors."""

from __future__ import annotations

from core.errors import KaziError


class ImpactError(KaziError):
    """Base of the impact domain's errors."""


class InvalidSurveyAnswer(ImpactError):
    """A survey answer outside the questions' choices (a bug in a flow, not a worker's typo)."""
