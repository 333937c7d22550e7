"""What every webhook shares: the secret-token check and the raw event record.

Providers that do not sign callbacks (Africa's Talking, Daraja) are called on URLs
carrying ``?token=<secret>``; the token is compared in constant time. Every accepted
callback is also stored as it arrived, so an operator can replay or audit it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, cast, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, created_at, intpk, matched_rows
from core.errors import Forbidden
from core.secrets import tokens_equal

log = logging.getLogger("kazi.webhooks")


class WebhookEvent(Base):
    """A provider callback exactly as it arrived (form or JSON), for audit and replay."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_source_external_id", "source", "external_id"),)

    id: Mapped[intpk]
    source: Mapped[str] = mapped_column(String(30))  # "africastalking", "twilio", "daraja"
    kind: Mapped[str] = mapped_column(String(40))  # "sms", "delivery", "b2c_result", ...
    external_id: Mapped[str | None] = mapped_column(String(100))  # the provider's id
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[created_at]


def require_token(given: str | None, expected: str | None, *, source: str) -> None:
    """Refuse a callback whose ``?token=`` does not match the configured secret.

    With no token configured (the embedded default and tests) every callback is let in;
    production refuses to start without the tokens (see config.settings).
    """
    if expected is None:
        return
    if not tokens_equal(given, expected):
        log.warning("%s webhook refused: %s token", source, "missing" if not given else "wrong")
        raise Forbidden(f"{source} webhook: missing or wrong token")


def record_event(
    session: Session, *, source: str, kind: str, payload: dict[str, Any], external_id: str | None
) -> WebhookEvent:
    """Store a callback as it arrived, in the caller's transaction."""
    event = WebhookEvent(
        source=source,
        kind=kind,
        payload=_storable(payload),
        external_id=external_id[:100] if external_id else None,
    )
    session.add(event)
    return event


def _storable(value: Any) -> Any:
    """The payload with NUL characters shown as U+FFFD: PostgreSQL's jsonb cannot hold NUL.

    A NUL in a field nobody reads (an extra key, a hostile value) must not turn an
    otherwise good callback into a 500; everything else is kept exactly.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def purge_events(session: Session, *, before: datetime) -> int:
    """Delete raw callbacks received before ``before`` (retention); how many went."""
    return matched_rows(
        session.execute(delete(WebhookEvent).where(WebhookEvent.received_at < before))
    )


def erase_events_mentioning(session: Session, digits: str) -> int:
    """Delete raw callbacks whose payload holds this number (written with or without "+")."""
    mentions = cast(WebhookEvent.payload, String).contains(digits)
    return matched_rows(session.execute(delete(WebhookEvent).where(mentions)))
