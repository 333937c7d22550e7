"""Broadcasts: the CLI end to end on the console provider, and AT bulk batches over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
import responses
from flask import Flask
from rq import Queue
from sqlalchemy import select

from core.db import utcnow
from core.runtime import Runtime
from gateway.broadcast import EmptyBroadcast, run_broadcast
from gateway.jobs import send_batch
from gateway.models import Message
from kazi.app import build_kazi_runtime
from tests.conftest import make_settings
from tests.gateway.web import close_app, gateway_app, messages, outbox, runtime_of
from workers.models import Worker, WorkerStatus

AT_API = "https://api.africastalking.com/version1/messaging"

WORKERS = [
    ("+254711000001", "KE", "sw", None, WorkerStatus.ACTIVE),
    ("+254711000002", "KE", "sw", None, WorkerStatus.ACTIVE),
    ("+254711000003", "KE", "sw", "opted_out", WorkerStatus.ACTIVE),
    ("+254711000004", "KE", "sw", None, WorkerStatus.BLOCKED),
    ("+254711000005", "KE", "en", None, WorkerStatus.ACTIVE),
    ("+256772000006", "UG", "sw", None, WorkerStatus.ACTIVE),
    ("+254711000007", "KE", "sw", None, WorkerStatus.ACTIVE),
]


def _seed(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        for phone, country, language, opted, status in WORKERS:
            session.add(
                Worker(
                    msisdn=phone,
                    country=country,
                    language=language,
                    status=status,
                    opted_out_at=utcnow() if opted else None,
                )
            )


@pytest.fixture
def web(committed_url: str) -> Iterator[Flask]:
    flask_app = gateway_app(committed_url)
    _seed(runtime_of(flask_app))
    yield flask_app
    close_app(flask_app)


def test_cli_broadcast_reaches_the_filtered_subscribed_workers_with_progress(web: Flask) -> None:
    result = web.test_cli_runner().invoke(
        args=["sms", "broadcast", "--country", "ke", "--language", "sw",
              "--message", "Kazi mpya zipo!", "--batch-size", "2"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "message: 1 segment(s), GSM-7",
        "queued 2/3",
        "queued 3/3",
        "broadcast queued: 3 worker(s) in 2 batch(es); sent at up to 10/s",
    ]
    assert sorted(outbox(web)) == [
        ("+254711000001", "Kazi mpya zipo!"),
        ("+254711000002", "Kazi mpya zipo!"),
        ("+254711000007", "Kazi mpya zipo!"),
    ]
    assert {m.status for m in messages(web)} == {"accepted"}
    assert all(m.worker_id is not None for m in messages(web))


def test_cli_broadcast_with_no_match_and_empty_text(web: Flask) -> None:
    runner = web.test_cli_runner()
    none = runner.invoke(args=["sms", "broadcast", "--country", "HT", "--message", "Salut"])
    assert none.exit_code == 0 and "no matching workers" in none.output
    with pytest.raises(EmptyBroadcast):
        run_broadcast(runtime_of(web).sessions, body="  ", provider="console")


@responses.activate
def test_bulk_batches_go_to_at_as_one_request_each(
    committed_url: str, redis_client: Any, redis_url: str
) -> None:
    runtime = build_kazi_runtime(
        make_settings(
            database_url=committed_url,
            redis_url=redis_url,
            sms_provider="africastalking",
            at_username="kazi",
            at_api_key="at-key",
        )
    )
    _seed(runtime)
    run_broadcast(
        runtime.sessions, body="Habari", provider="africastalking", language="sw", batch_size=3
    )
    jobs = Queue("sms", connection=runtime.redis).jobs
    assert [len(job.args[0]) for job in jobs] == [3, 1]
    recipients = [
        {"statusCode": 101, "number": f"+25471100000{n}", "status": "Success",
         "cost": "KES 0.8000", "messageId": f"ATXid_{n}"}
        for n in (1, 2)
    ] + [{"statusCode": 406, "number": "+256772000006", "status": "UserInBlacklist",
          "cost": "0", "messageId": "None"}]  # fmt: skip
    responses.post(
        AT_API, json={"SMSMessageData": {"Message": "Sent", "Recipients": recipients}}, status=201
    )
    with runtime.activated():
        send_batch(*jobs[0].args)
        send_batch(*jobs[0].args)  # a re-run sends nothing again
    (call,) = responses.calls
    assert isinstance(call.request.body, str)  # requests encodes a form as text
    form = dict(parse_qsl(call.request.body))
    assert form["to"] == "+254711000001,+254711000002,+256772000006"
    assert (form["message"], form["enqueue"]) == ("Habari", "1")
    with runtime.sessions() as session:
        rows = session.scalars(select(Message).order_by(Message.id)).all()
        ugandan = session.scalars(select(Worker).where(Worker.msisdn == "+256772000006")).one()
    assert [(m.status, m.provider_message_id) for m in rows[:3]] == [
        ("accepted", "ATXid_1"),
        ("accepted", "ATXid_2"),
        ("failed", None),
    ]
    assert rows[3].status == "queued" and ugandan.opted_out_at is not None
    runtime.engine.dispose()
