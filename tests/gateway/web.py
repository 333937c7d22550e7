"""Helpers for the gateway's HTTP tests: apps from the factory, rows read back, signed posts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from core.runtime import Runtime
from core.webhooks import WebhookEvent
from gateway.models import Message, UssdSession
from kazi.app import create_app
from tests.conftest import make_settings
from tests.support.embedded import console_sms, in_process_jobs
from workers.models import Worker

AT_TOKEN = "at-token-0123456789"
TWILIO_TOKEN = "fake_auth_token_0123456789abcdef"
PUBLIC_BASE = "https://kazi.example.org"


def gateway_app(database_url: str, **overrides: Any) -> Flask:
    """An app on ``database_url`` with the webhook secrets set (embedded job runner)."""
    secrets = {
        "at_webhook_token": AT_TOKEN,
        "twilio_auth_token": TWILIO_TOKEN,
        "public_base_url": PUBLIC_BASE,
    }
    settings = make_settings(database_url=database_url, **{**secrets, **overrides})
    flask_app = create_app(settings)
    flask_app.config["TESTING"] = True
    return flask_app


def close_app(app: Flask) -> None:
    """Let background jobs finish (they write rows) before the tables are emptied."""
    runtime = runtime_of(app)
    in_process_jobs(runtime).drain(timeout=10)
    runtime.engine.dispose()


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["kazi"]


def at_url(path: str, token: str | None = AT_TOKEN) -> str:
    return f"/webhooks/africastalking/{path}" + (f"?token={token}" if token is not None else "")


def twilio_post(
    client: Any, path: str, form: Mapping[str, str], *, token: str = TWILIO_TOKEN
) -> Any:
    """POST a form to a Twilio webhook with the signature Twilio would compute."""
    url = f"/webhooks/twilio/{path}"
    signature = RequestValidator(token).compute_signature(PUBLIC_BASE + url, dict(form))
    return client.post(url, data=dict(form), headers={"X-Twilio-Signature": signature})


def messages(app: Flask) -> list[Message]:
    with runtime_of(app).sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def ussd_sessions(app: Flask) -> list[UssdSession]:
    with runtime_of(app).sessions() as session:
        return list(session.scalars(select(UssdSession).order_by(UssdSession.id)))


def worker(app: Flask, phone: str) -> Worker:
    """The worker with this number (the test fails if there is none)."""
    with runtime_of(app).sessions() as session:
        return session.scalars(select(Worker).where(Worker.msisdn == phone)).one()


def outbox(app: Flask) -> list[tuple[str, str]]:
    """What the console provider recorded, after the job runner went idle."""
    runtime = runtime_of(app)
    assert in_process_jobs(runtime).drain(timeout=10)
    return [(m.to, m.body) for m in console_sms(runtime).outbox]


def events(app: Flask) -> list[WebhookEvent]:
    """Every raw webhook event stored, oldest first."""
    with runtime_of(app).sessions() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def sent_message(app: Flask, provider: str, provider_id: str, phone: str) -> int:
    """An outbound message as the send job leaves it: accepted with the provider's id."""
    with runtime_of(app).sessions.begin() as session:
        message = Message(
            direction="out",
            provider=provider,
            provider_message_id=provider_id,
            phone=phone,
            body="Task ready",
            status="accepted",
        )
        session.add(message)
        session.flush()
        return message.id


def status_of(app: Flask, message_id: int) -> tuple[str, str | None]:
    """A message's status and error."""
    with runtime_of(app).sessions() as session:
        message = session.get_one(Message, message_id)
        return message.status, message.error


def provider_status_of(app: Flask, message_id: int) -> str | None:
    """The provider's last status word stored on a message."""
    with runtime_of(app).sessions() as session:
        return session.get_one(Message, message_id).provider_status
