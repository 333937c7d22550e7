"""rq entry points of the gateway: thin functions taking ids."""

from __future__ import annotations

import logging

from sqlalchemy import select

from core.db import utcnow
from core.runtime import Runtime, current
from gateway.delivery import DeliveryStatus, advance
from gateway.errors import PermanentSendError, TemporarySendError
from gateway.models import Message
from gateway.providers.base import SmsProvider, build_sms_provider

log = logging.getLogger("kazi.gateway.jobs")

_SENDABLE = (DeliveryStatus.QUEUED, DeliveryStatus.ERRORED)


def sms_provider(runtime: Runtime) -> SmsProvider:
    """The process's SMS provider, built once from settings."""
    provider = runtime.extras.get("sms_provider")
    if provider is None:
        provider = build_sms_provider(runtime.settings.sms_provider, runtime.settings)
        runtime.extras["sms_provider"] = provider
    return provider


def send_message(message_id: int) -> None:
    """Send one queued outbound message; a message already handed over is never sent again."""
    runtime = current()
    with runtime.sessions.begin() as session:
        message = session.scalars(
            select(Message).where(Message.id == message_id).with_for_update()
        ).one_or_none()
        if message is None or message.status not in _SENDABLE:
            # A re-run of a job whose message already went out: sending again would
            # reach the worker twice.
            return
        message.attempts += 1
        phone, body = message.phone, message.body
    try:
        result = sms_provider(runtime).send(phone, body, callback_url=None)
    except PermanentSendError as error:
        _record_failure(runtime, message_id, DeliveryStatus.FAILED, error.reason)
        return
    except TemporarySendError as error:
        _record_failure(runtime, message_id, DeliveryStatus.ERRORED, error.reason)
        raise  # rq's Retry on the job schedules the next attempt
    with runtime.sessions.begin() as session:
        message = session.get_one(Message, message_id)
        message.provider_message_id = result.provider_message_id
        message.status = advance(message.status, result.status)
        message.segments = result.segments
        message.encoding = result.encoding
        message.sent_at = utcnow()


def _record_failure(runtime: Runtime, message_id: int, status: DeliveryStatus, reason: str) -> None:
    with runtime.sessions.begin() as session:
        message = session.get_one(Message, message_id)
        message.status = advance(message.status, status)
        message.error = reason
    log.warning("sms %s: %s (%s)", message_id, status, reason)
