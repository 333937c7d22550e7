"""An rq worker killed with SIGKILL at each step of the outbound-SMS and payout jobs.

The worker runs in a forked process (its work horses fork from it, as in production),
and dies, horse and all, at one chosen step: after a given commit of a given job, or
while the provider holds the request. Then it is "restarted": rq's own clean-up finds
the abandoned job (the clock moved past its heartbeat), retries fall due, the sweepers
run, and a healthy worker works the queues. Each message reaches the provider at most
once, and each payout settles exactly once.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.jobs import QUEUE_NAMES
from core.runtime import Runtime
from core.worker import run_worker
from gateway.models import Message
from gateway.outbound import send_sms
from kazi.app import create_app
from payouts.models import PayoutStatus
from tests.conftest import make_settings
from tests.emulators.daraja import DarajaEmulator
from tests.payouts.conftest import Kazi
from tests.payouts.test_daraja_payouts import legs

AT_API = "https://api.africastalking.com/version1/messaging"
AT_SETTINGS = {
    "sms_provider": "africastalking",
    "at_username": "kazi",
    "at_api_key": "at-key",
    "sms_sender_id": "KAZI",
}
pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _die() -> None:
    """SIGKILL the worker and this work horse: nothing runs after this line, no clean-up."""
    os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_after_commit(runtime: Runtime, job: str, commit: int) -> None:
    """Die right after the ``commit``-th commit of the job ``job`` in a work horse."""
    from rq import get_current_job

    seen = {"n": 0}

    @event.listens_for(runtime.sessions, "after_commit")
    def _count(session: Session) -> None:
        current = get_current_job()
        if current is not None and current.func_name == job:
            seen["n"] += 1
            if seen["n"] == commit:
                _die()


def _worker(runtime: Runtime, queues: list[str], setup: Callable[[], Any] | None = None) -> int:
    """Run a burst worker in a forked process; its wait status (killed or exited)."""
    runtime.engine.dispose()  # the child must not share this process's connections
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            if setup is not None:
                setup()
            run_worker(runtime, queues, burst=True)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


def _restart(runtime: Runtime) -> None:
    """What time and a restart do: abandoned jobs are found, due retries are queued."""
    assert runtime.redis is not None
    later = time.time() + 24 * 3600
    for name in QUEUE_NAMES:
        StartedJobRegistry(name, connection=runtime.redis).cleanup(timestamp=later)
        queue = Queue(name, connection=runtime.redis)
        scheduled = ScheduledJobRegistry(name, connection=runtime.redis)
        for job_id in scheduled.get_job_ids():
            scheduled.remove(job_id)
            queue.enqueue_job(Job.fetch(job_id, connection=runtime.redis))


# -- outbound SMS ---------------------------------------------------------------------


class AtEndpoint:
    """Africa's Talking's send endpoint in the worker process: each request is appended
    to a file (the parent counts them there), then the worker dies if told to."""

    def __init__(self, log: Path, die: bool) -> None:
        self.log, self.die = log, die

    def __call__(self) -> Any:
        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        mock.add_callback(responses.POST, AT_API, callback=self._answer)
        mock.start()
        return mock

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        with self.log.open("a") as out:
            out.write("sent\n")
        if self.die:
            _die()  # the provider has the message; our answer never comes back
        body = (
            '{"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [{"statusCode": 101,'
            ' "number": "+254711000111", "status": "Success", "cost": "KES 0.8000",'
            ' "messageId": "ATXid_kill"}]}}'
        )
        return 201, {"Content-Type": "application/json"}, body


@pytest.fixture
def sms_runtime(committed_url: str, redis_client: Any, redis_url: str) -> Iterator[Runtime]:
    app = create_app(make_settings(database_url=committed_url, redis_url=redis_url, **AT_SETTINGS))
    runtime: Runtime = app.extensions["kazi"]
    yield runtime
    runtime.engine.dispose()


@pytest.mark.parametrize("db_kind", ["postgresql"])
@pytest.mark.parametrize(
    ("step", "sends", "status"),
    [
        ("after the claim", 0, "sending"),  # never reached AT: stuck for an operator, not resent
        ("inside the provider call", 1, "sending"),  # AT has it; no answer recorded, no resend
        ("after recording the answer", 1, "accepted"),
        ("never", 1, "accepted"),
    ],
)
def test_a_killed_sms_worker_sends_each_message_at_most_once(
    sms_runtime: Runtime, tmp_path: Path, step: str, sends: int, status: str
) -> None:
    with sms_runtime.sessions.begin() as session:
        message = send_sms(session, phone="0711000111", body="Habari!", provider="africastalking")
    log = tmp_path / "at.log"
    commits = {"after the claim": 1, "after recording the answer": 2}

    def setup() -> Any:
        if step in commits:
            _kill_after_commit(sms_runtime, "gateway.jobs.send_message", commits[step])
        return AtEndpoint(log, die=step == "inside the provider call")()

    killed = _worker(sms_runtime, ["sms"], setup)
    assert os.WIFSIGNALED(killed) == (step != "never")
    _restart(sms_runtime)
    healthy = _worker(sms_runtime, ["sms"], AtEndpoint(log, die=False))
    assert os.WIFEXITED(healthy) and os.WEXITSTATUS(healthy) == 0
    assert (log.read_text().count("sent") if log.exists() else 0) == sends
    with sms_runtime.sessions() as session:
        assert session.get_one(Message, message.id).status == status


# -- payouts --------------------------------------------------------------------------


@pytest.fixture
def payout_kazi(committed_url: str, redis_client: Any, redis_url: str) -> Iterator[Kazi]:
    settings = make_settings(
        database_url=committed_url, redis_url=redis_url, payout_sandbox_delay_seconds=0
    )
    app = create_app(settings)
    kazi = Kazi(app, app.extensions["kazi"], "", DarajaEmulator())
    yield kazi
    kazi.runtime.engine.dispose()


@pytest.mark.parametrize("db_kind", ["postgresql"])
@pytest.mark.parametrize(
    ("job", "commit", "paid"),
    [
        # The attempt is counted and the worker dies before calling the provider: nobody
        # can tell whether the payment left, so it is never resent blindly; the status
        # query finds nothing and the money stays on hold, visible to reconcile.
        ("payouts.jobs.submit_payout", 1, False),
        ("payouts.jobs.submit_payout", 2, True),  # the provider's acknowledgement recorded
        ("payouts.jobs.deliver_sandbox_callback", 1, True),  # the result applied: settled
        ("", 0, True),  # never killed
    ],
)
def test_a_killed_payout_worker_settles_each_payout_at_most_once(
    payout_kazi: Kazi, job: str, commit: int, paid: bool
) -> None:
    runtime = payout_kazi.runtime
    payout_id = payout_kazi.withdraw(5_000)

    def setup() -> None:
        if job:
            _kill_after_commit(runtime, job, commit)

    _worker(runtime, ["payouts", "default", "sms"], setup)
    for _ in range(3):  # restart; the reconcile sweep (cron) chases what has no outcome
        _restart(runtime)
        result = payout_kazi.app.test_cli_runner().invoke(
            args=["payouts", "reconcile", "--older-than", "0", "--wait", "0"]
        )
        assert result.exit_code == 0, result.output
        assert os.WIFEXITED(_worker(runtime, ["payouts", "default", "sms"]))
    status = payout_kazi.payout(payout_id).status
    assert status is (PayoutStatus.SETTLED if paid else PayoutStatus.UNKNOWN)
    settled = ["payout_hold", "payout_settle"] if paid else ["payout_hold"]
    assert legs(payout_kazi, payout_id) == settled  # settled once, or still held: never lost
    assert runtime.redis is not None
    payments = [k for k in runtime.redis.keys("kazi:payouts:sandbox:*") if b"receipt" not in k]
    assert len(payments) == int(paid)  # the sandbox took at most one payment
