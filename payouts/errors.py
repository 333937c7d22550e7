"""Payout errors, named by what they mean for the money.

The split that matters is between outcomes the caller may act on and outcomes it
must not guess: ``ProviderRejected`` means the provider refused the payment, so the
funds can go back to the worker's balance; ``OutcomeUnknown`` means the request may
have reached the provider, so the payout must be resolved by a status query and
never by a blind resend under a new id (that is how workers get paid twice).
"""

from __future__ import annotations

from typing import Any

from core.errors import KaziError


class PayoutError(KaziError):
    """The base of every payout failure."""

    http_status = 502
    code = "payout_error"


class InvalidPayoutRequest(PayoutError):
    """We refused to send the request (bad amount, phone, text): nothing left the machine."""

    http_status = 400
    code = "invalid_payout_request"

    def __init__(self, message: str, *, field: str, value: Any = None) -> None:
        super().__init__(message, details=[{"field": field, "value": value}])
        self.field = field
        self.value = value


class PayoutConfigError(PayoutError):
    """A payout setting is missing or unusable (credential, certificate, URL)."""

    http_status = 500
    code = "payout_config_error"


class ProviderAuthError(PayoutError):
    """No access token could be obtained, so the payment request was never sent."""

    code = "payout_provider_auth"


class PrecheckFailed(PayoutError):
    """A check made before the payment request (e.g. can the payee receive?) failed to
    answer, so the payment was never sent: the attempt may simply run again."""

    code = "payout_precheck_failed"


class ProviderRejected(PayoutError):
    """The provider refused the request synchronously: it is definitely not paid."""

    code = "payout_rejected"

    def __init__(
        self,
        message: str,
        *,
        error_code: str,
        error_message: str = "",
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, details=[{"error_code": error_code, "status": status_code}])
        self.error_code = error_code
        self.error_message = error_message
        self.status_code = status_code


class OutcomeUnknown(PayoutError):
    """The request may have reached the provider: resolve by a status query, never resend."""

    code = "payout_outcome_unknown"

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, details=[{"error_code": error_code, "status": status_code}])
        self.error_code = error_code
        self.status_code = status_code


class NotSent(PayoutError):
    """The request never left this machine (connection refused, connect timeout).

    Safe to send again under the same idempotency key: the provider never saw it, and
    had it seen it, the same key would be refused as a duplicate rather than paid twice.
    """

    code = "payout_not_sent"


class ProviderUnavailable(OutcomeUnknown):
    """A network error, timeout, 5xx or garbled answer after the request was sent."""

    code = "payout_provider_unavailable"


class DuplicateSubmission(OutcomeUnknown):
    """The provider already holds a payment under this id: it is NOT a failure.

    Deliberately not a ``ProviderRejected``: code that returns funds on rejection
    must never return them here, since the earlier request may well have paid.
    """

    code = "payout_duplicate_submission"


class BadCallback(PayoutError):
    """A provider callback body is malformed; names the offending field."""

    http_status = 400
    code = "payout_bad_callback"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, details=[{"field": field}])
        self.field = field


class WithdrawalRefused(PayoutError):
    """A worker's withdrawal was refused before any money moved; ``reason`` is for the flows."""

    http_status = 409
    code = "withdrawal_refused"

    #: Every reason a withdrawal can be refused, so flows can word each one in every language.
    REASONS = frozenset(
        {
            "blocked",  # the worker's account is blocked
            "no_pin",  # the worker never set a PIN
            "wrong_pin",
            "pin_locked",  # three wrong PINs: withdrawals locked (escalating, see workers)
            "not_whole",  # M-Pesa pays whole shillings
            "below_minimum",
            "above_maximum",
            "daily_cap",
            "daily_withdrawals",  # PAYOUT_DAILY_WITHDRAWALS reached today (local day)
            "insufficient_funds",
            "under_review",  # a payout contradicted by the provider waits for an operator
        }
    )

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(message, details=[{"reason": reason, **details}])
        self.reason = reason


class IllegalTransition(PayoutError):
    """A payout was asked to move between states its lifecycle does not connect (a bug)."""

    http_status = 500
    code = "payout_illegal_transition"


class InvalidResolution(PayoutError):
    """An operator's manual outcome lacks what proves it (receipt format, reason)."""

    http_status = 400
    code = "invalid_payout_resolution"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, details=[{"field": field}])
        self.field = field
