"""The send job against the providers' HTTP APIs (mocked with ``responses``): exact requests,
cost and ids recorded, retries, no double send, opt-out from the network."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from rq import Queue
from sqlalchemy import select

from core.runtime import Runtime
from core.worker import run_worker
from gateway.errors import TemporarySendError
from gateway.jobs import send_message
from gateway.models import Message
from gateway.outbound import send_sms
from kazi.app import build_kazi_runtime
from tests.conftest import make_settings
from workers.models import Worker

AT_API = "https://api.africastalking.com/version1/messaging"
TWILIO_SID = "AC00000000000000000000000000000007"
TWILIO_API = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
PHONE = "+254711000111"

AT_SETTINGS = {
    "sms_provider": "africastalking",
    "at_username": "kazi",
    "at_api_key": "at-key",
    "sms_sender_id": "KAZI",
}


def _runtime(committed_url: str, redis_url: str, **overrides: Any) -> Iterator[Runtime]:
    runtime = build_kazi_runtime(
        make_settings(database_url=committed_url, redis_url=redis_url, **overrides)
    )
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def at_runtime(committed_url: str, redis_client: Any, redis_url: str) -> Iterator[Runtime]:
    yield from _runtime(committed_url, redis_url, **AT_SETTINGS)


def _queue(runtime: Runtime, body: str = "Habari! Kazi mpya.", phone: str = "0711000111") -> int:
    with runtime.sessions.begin() as session:
        return send_sms(session, phone=phone, body=body, provider=runtime.settings.sms_provider).id


def _run(runtime: Runtime, message_id: int) -> None:
    with runtime.activated():
        send_message(message_id)


def _message(runtime: Runtime, message_id: int) -> Message:
    with runtime.sessions() as session:
        return session.get_one(Message, message_id)


def _form(call: Any) -> dict[str, str]:
    body = call.request.body
    return dict(
        parse_qsl(body.decode() if isinstance(body, bytes) else body, keep_blank_values=True)
    )


def _at_answer(code: int = 101, message_id: str = "ATXid_1", number: str = PHONE) -> dict:
    return {
        "SMSMessageData": {
            "Message": "Sent to 1/1 Total Cost: KES 0.8000",
            "Recipients": [
                {
                    "statusCode": code,
                    "number": number,
                    "status": "Success",
                    "cost": "KES 0.8000",
                    "messageId": message_id,
                }
            ],
        }
    }


@responses.activate
def test_at_send_posts_the_documented_request_and_records_id_cost_segments(
    at_runtime: Runtime,
) -> None:
    responses.post(AT_API, json=_at_answer(), status=201)
    message_id = _queue(at_runtime)
    _run(at_runtime, message_id)
    (call,) = responses.calls
    assert call.request.headers["apiKey"] == "at-key"
    assert _form(call) == {
        "username": "kazi",
        "to": PHONE,
        "message": "Habari! Kazi mpya.",
        "bulkSMSMode": "1",
        "from": "KAZI",
    }
    stored = _message(at_runtime, message_id)
    assert (stored.status, stored.provider_message_id, stored.attempts) == (
        "accepted",
        "ATXid_1",
        1,
    )
    assert (stored.cost_minor, stored.cost_currency, stored.segments, stored.encoding) == (
        80,
        "KES",
        1,
        "GSM-7",
    )
    assert stored.sent_at is not None and stored.error is None
    _run(at_runtime, message_id)  # rq re-delivers the job: nothing is sent again
    assert len(responses.calls) == 1


@responses.activate
def test_twilio_send_carries_the_status_callback_url(
    committed_url: str, redis_client: Any, redis_url: str
) -> None:
    for runtime in _runtime(
        committed_url,
        redis_url,
        sms_provider="twilio",
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token="token",
        twilio_from_number="+15550100123",
        public_base_url="https://kazi.example.org",
    ):
        created = {"sid": "SM000000000000000000000000000000b1", "status": "queued", "num_segments": "2",
                   "price": None, "price_unit": "USD"}  # fmt: skip
        responses.post(TWILIO_API, json=created, status=201)
        message_id = _queue(runtime, body="Jambo 👋 " * 5)
        _run(runtime, message_id)
        assert _form(responses.calls[0]) == {
            "To": PHONE,
            "From": "+15550100123",
            "Body": "Jambo 👋 " * 5,
            "StatusCallback": "https://kazi.example.org/webhooks/twilio/sms/status",
        }
        stored = _message(runtime, message_id)
        assert (stored.provider_message_id, stored.status, stored.segments, stored.encoding) == (
            created["sid"], "accepted", 2, "UCS-2"
        )  # fmt: skip


@responses.activate
def test_a_temporary_failure_is_retried_and_then_sends_once(at_runtime: Runtime) -> None:
    responses.post(AT_API, body="Service Unavailable", status=503, content_type="text/plain")
    message_id = _queue(at_runtime)
    with pytest.raises(TemporarySendError):
        _run(at_runtime, message_id)
    stored = _message(at_runtime, message_id)
    assert (stored.status, stored.attempts, stored.error) == ("errored", 1, "http_error")
    responses.replace(responses.POST, AT_API, json=_at_answer(), status=201)
    _run(at_runtime, message_id)
    _run(at_runtime, message_id)
    assert len(responses.calls) == 2
    assert _message(at_runtime, message_id).status == "accepted"


@responses.activate
def test_after_the_last_attempt_a_temporary_failure_becomes_failed(at_runtime: Runtime) -> None:
    responses.post(AT_API, json=_at_answer(code=500), status=201)
    message_id = _queue(at_runtime)
    for _ in range(2):
        with pytest.raises(TemporarySendError):
            _run(at_runtime, message_id)
    _run(at_runtime, message_id)  # the third attempt gives up instead of raising
    stored = _message(at_runtime, message_id)
    assert (stored.status, stored.attempts, stored.error) == (
        "failed",
        3,
        "gave_up: provider_error (500)",
    )


@pytest.mark.parametrize(
    ("code", "error", "opted_out"),
    [(403, "invalid_number", False), (406, "blacklisted", True), (409, "do_not_disturb", True)],
)
@responses.activate
def test_permanent_failures_are_not_retried_and_blacklisting_opts_out(
    at_runtime: Runtime, code: int, error: str, opted_out: bool
) -> None:
    responses.post(AT_API, json=_at_answer(code=code), status=201)
    message_id = _queue(at_runtime)
    _run(at_runtime, message_id)
    _run(at_runtime, message_id)
    assert len(responses.calls) == 1
    assert (_message(at_runtime, message_id).status, _message(at_runtime, message_id).error) == (
        "failed",
        error,
    )
    with at_runtime.sessions() as session:
        worker = session.scalars(select(Worker).where(Worker.msisdn == PHONE)).one_or_none()
    assert (worker is not None and worker.opted_out_at is not None) is opted_out


@responses.activate
def test_a_read_timeout_is_marked_maybe_sent_and_never_resent(at_runtime: Runtime) -> None:
    responses.post(AT_API, body=requests.ReadTimeout("provider slow"))
    message_id = _queue(at_runtime)
    _run(at_runtime, message_id)  # no exception: rq must not retry into a duplicate
    _run(at_runtime, message_id)
    assert len(responses.calls) == 1
    stored = _message(at_runtime, message_id)
    assert (stored.status, stored.error) == ("sending", "maybe_sent: network")


@responses.activate
def test_a_connection_refused_is_retried_since_nothing_was_sent(at_runtime: Runtime) -> None:
    responses.post(
        AT_API,
        body=requests.ConnectionError("Failed to establish a new connection: Connection refused"),
    )
    message_id = _queue(at_runtime)
    with pytest.raises(TemporarySendError):
        _run(at_runtime, message_id)
    assert _message(at_runtime, message_id).status == "errored"


def test_two_concurrent_runs_of_one_job_send_once(at_runtime: Runtime) -> None:
    calls: list[float] = []

    def slow_accept(request: Any) -> tuple[int, dict, str]:
        calls.append(time.monotonic())
        time.sleep(0.2)  # hold the provider call open while the other run tries
        import json

        return 201, {"Content-Type": "application/json"}, json.dumps(_at_answer())

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, AT_API, callback=slow_accept)
        message_id = _queue(at_runtime)
        threads = [threading.Thread(target=_run, args=(at_runtime, message_id)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(calls) == 1
    assert _message(at_runtime, message_id).status == "accepted"


@responses.activate
def test_rq_schedules_the_retry_with_backoff(at_runtime: Runtime) -> None:
    responses.post(AT_API, body="Bad Gateway", status=502, content_type="text/plain")
    message_id = _queue(at_runtime)
    run_worker(at_runtime, ["sms"], burst=True)  # a real rq worker runs the queued job
    assert _message(at_runtime, message_id).status == "errored"
    registry = Queue("sms", connection=at_runtime.redis).scheduled_job_registry
    assert registry.get_job_ids() == [f"sms-{message_id}"]


def test_a_misconfigured_provider_fails_the_message_without_sending(at_runtime: Runtime) -> None:
    from gateway.errors import ProviderConfigError

    with at_runtime.sessions.begin() as session:
        message_id = send_sms(session, phone=PHONE, body="Hi", provider="twilio").id
    with pytest.raises(ProviderConfigError):
        _run(at_runtime, message_id)
    assert (_message(at_runtime, message_id).status, _message(at_runtime, message_id).error) == (
        "failed",
        "provider_config",
    )


def test_a_rate_limit_wait_that_runs_out_hands_the_message_back_for_retry(
    at_runtime: Runtime,
) -> None:
    from gateway.ratelimit import RateLimiter

    # One send per 1000 s, already used, with the clock held just after a window opens:
    # the next slot is 999 s away, far beyond the job's 60 s wait (on the wall clock the
    # boundary could fall inside those 60 s, and the job would rightly wait and send).
    window_start = 1_000.0 * 1_234_567
    limiter = RateLimiter(
        at_runtime.store, "africastalking", 0.001, clock=lambda: window_start + 1.0
    )
    at_runtime.extras["sms_rate:africastalking"] = limiter
    limiter.acquire()
    message_id = _queue(at_runtime)
    with responses.RequestsMock() as mock, pytest.raises(TemporarySendError):
        _run(at_runtime, message_id)
        assert len(mock.calls) == 0
    assert (_message(at_runtime, message_id).status, _message(at_runtime, message_id).error) == (
        "errored",
        "rate_limited",
    )
