"""Errors of the gateway: bad webhooks, bad numbers, unknown statuses and send failures.

Webhook errors map to HTTP 400 in the app factory (a provider that sends us
something we do not understand should see a refusal, and we should see it in logs).
Send errors never reach HTTP: the send job catches them and decides whether to retry.
"""

from __future__ import annotations

from core.errors import KaziError


class GatewayError(KaziError):
    """Base of every error raised by the gateway package."""

    code = "gateway_error"


class BadWebhook(GatewayError):
    """A provider callback is missing a field or carries a value we cannot use."""

    http_status = 400
    code = "bad_webhook"

    def __init__(self, field: str, problem: str, value: str | None = None) -> None:
        shown = "" if value is None else f" (got {clip(value)!r})"
        super().__init__(f"webhook field {field!r}: {problem}{shown}", details=[{"field": field}])
        self.field = field
        self.value = value


class UnknownProviderStatus(GatewayError):
    """A provider status we have no mapping for; refused rather than guessed."""

    http_status = 400
    code = "unknown_provider_status"

    def __init__(self, provider: str, status: str) -> None:
        super().__init__(
            f"{provider}: unknown status {clip(status)!r}",
            details=[{"provider": provider, "status": clip(status)}],
        )
        self.provider = provider
        self.status = status


class IllegalTransition(GatewayError):
    """A delivery status move that the lifecycle does not allow (a bug, not a late report)."""

    http_status = 409
    code = "illegal_transition"


class ProviderConfigError(GatewayError):
    """A provider cannot be built: unknown name or a missing setting."""

    http_status = 500
    code = "provider_config"


class SendError(GatewayError):
    """Sending an SMS failed; subclasses say whether a retry can help."""

    http_status = 502
    code = "send_failed"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        reason: str,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(message, details=[{"provider": provider, "reason": reason}])
        self.provider = provider
        #: Our short, stable reason (e.g. "invalid_number", "rate_limited") for metrics.
        self.reason = reason
        #: The provider's own code (AT statusCode, Twilio error code), for the message log.
        self.provider_code = provider_code


class TemporarySendError(SendError):
    """A failure that may pass (network, 5xx, rate limit): retry with backoff."""

    code = "send_temporary"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        reason: str,
        provider_code: str | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message, provider=provider, reason=reason, provider_code=provider_code)
        # A read timeout means the provider may have accepted the message before the
        # connection died. Neither AT nor Twilio takes an idempotency key on send, so a
        # retry can deliver twice; the caller decides (e.g. retry once, or mark unknown).
        self.maybe_sent = maybe_sent


class PermanentSendError(SendError):
    """A failure a retry cannot fix (bad number, opted out, bad sender id): give up."""

    code = "send_permanent"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        reason: str,
        provider_code: str | None = None,
        opted_out: bool = False,
    ) -> None:
        super().__init__(message, provider=provider, reason=reason, provider_code=provider_code)
        #: True when the network or provider says the worker blocked us (blacklist,
        #: DND, STOP): the integrator must mark the worker opted out, not just fail.
        self.opted_out = opted_out


def clip(value: str, limit: int = 80) -> str:
    """Shorten a value for an error message so a hostile payload cannot flood logs."""
    return value if len(value) <= limit else value[:limit] + "…"
