"""The sweeper requeues outbound SMS whose job was lost and counts those stuck in sending."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy.orm import Session

from core.db import utcnow
from gateway.models import Message
from gateway.outbound import requeue_stuck, stuck_sending
from tests.conftest import RecordingJobQueue
from tests.gateway.web import close_app, gateway_app, messages, outbox, runtime_of


def _message(status: str, minutes_ago: int, direction: str = "out") -> Message:
    when = utcnow() - timedelta(minutes=minutes_ago)
    return Message(direction=direction, provider="console", phone="+254711000111", body=status,
                   status=status, created_at=when, updated_at=when)  # fmt: skip


def test_only_lost_queued_and_errored_messages_are_requeued(
    session: Session, sent_jobs: RecordingJobQueue
) -> None:
    rows = [
        _message("queued", 45),
        _message("queued", 1),  # its job is probably still waiting in the queue
        _message("errored", 25),
        _message("errored", 6),  # rq still holds its retry
        _message("sending", 25),
        _message("accepted", 60),
        _message("received", 60, direction="in"),
    ]
    session.add_all(rows)
    session.flush()
    assert requeue_stuck(session) == [rows[0].id, rows[2].id]
    assert stuck_sending(session) == 1
    session.commit()
    assert [(s.func, s.args, s.job_id) for s in sent_jobs.sent] == [
        ("gateway.jobs.send_message", (rows[0].id,), f"sms-{rows[0].id}"),
        ("gateway.jobs.send_message", (rows[2].id,), f"sms-{rows[2].id}"),
    ]


def test_the_sweep_command_sends_a_lost_message_once(committed_url: str) -> None:
    app: Flask = gateway_app(committed_url)
    with runtime_of(app).sessions.begin() as session:
        session.add(_message("queued", 45))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["sms", "sweep"]).output == "requeued 1 message(s)\n"
    assert outbox(app) == [("+254711000111", "queued")]
    assert runner.invoke(args=["sms", "sweep"]).output == "requeued 0 message(s)\n"
    assert [m.status for m in messages(app)] == ["accepted"]
    close_app(app)
