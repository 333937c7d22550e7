"""Payouts that resolve themselves, through the Daraja emulator over HTTP.

Not sent vs unknown, status queries with backoff and follow-ups, the periodic
reconcile (rq's scheduler and the embedded timer), one resend after the window,
alerts, contradictions, fees and float, paused rails.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from console.models import OperatorRole
from console.services import create_operator
from core.db import utcnow
from core.jobs import JobSpec, PeriodicJob
from core.webhooks import WebhookEvent
from kazi.app import create_app
from ledger import payout_postings
from ledger import services as ledger
from ledger.models import AccountKind
from payouts.callbacks import QUERY_RETRY
from payouts.errors import NotSent, WithdrawalRefused
from payouts.jobs import follow_up_query, resolve_unknown, submit_payout
from payouts.models import Payout, PayoutStatus
from payouts.providers.daraja import B2C_PATH, STATUS_PATH
from payouts.rails import provider_for
from payouts.withdrawals import SUBMIT_RETRY, WithdrawalLimits, request_withdrawal
from tests.conftest import RecordingJobQueue, make_settings
from tests.console.conftest import csrf_token, sign_in
from tests.emulators.daraja import DarajaEmulator, Scenario
from tests.payouts.conftest import Kazi, build_kazi
from tests.payouts.factories import PIN, wait_until
from tests.payouts.test_crash_and_reconcile import _payout_without_job
from tests.payouts.test_daraja_payouts import b2c_requests, balance_of, legs
from tests.support.embedded import in_process_jobs

UNPROCESSED_503 = {"requestId": "r-1", "errorCode": "500.003.1001", "errorMessage": "Unavailable"}


def pending(kazi: Kazi, func: str) -> list[JobSpec]:
    """Delayed jobs of this function still waiting in the embedded queue."""
    return [s for s in in_process_jobs(kazi.runtime).pending() if s.func == f"payouts.jobs.{func}"]


def admin(kazi: Kazi) -> FlaskClient:
    """A console client signed in as an admin."""
    with kazi.runtime.sessions.begin() as session:
        operator, password = create_operator(session, "admin@example.org", OperatorRole.ADMIN)
        email = operator.email
    client = kazi.app.test_client()
    assert sign_in(client, email, password).status_code == 302
    return client


def post(client: FlaskClient, path: str, **data: Any) -> str:
    """Post a console form with its CSRF token; the page it redirects to."""
    token = csrf_token(client, "/console/payouts")
    response = client.post(path, data={"csrf_token": token, **data})
    assert response.status_code == 302, response.status_code
    return client.get(response.location).get_data(as_text=True)


def metric(kazi: Kazi, name: str) -> str:
    """The /metrics lines of one metric."""
    body = kazi.app.test_client().get("/metrics").get_data(as_text=True)
    return "\n".join(line for line in body.splitlines() if line.startswith(name))


def withdraw_again(kazi: Kazi, payout_id: int, amount: int = 1_000) -> Payout:
    """The same worker asks for another withdrawal."""
    worker_id = kazi.payout(payout_id).worker_id
    with kazi.runtime.sessions.begin() as session:
        return request_withdrawal(
            session,
            worker_id=worker_id,
            pin=PIN,
            amount_minor=amount,
            limits=WithdrawalLimits.from_settings(kazi.runtime.settings),
            store=kazi.runtime.store,
            provider="daraja",
        )


def age(kazi: Kazi, payout_id: int, minutes: float) -> None:
    """Make a payout look requested ``minutes`` ago (the clock, by data)."""
    with kazi.runtime.sessions.begin() as session:
        session.execute(
            update(Payout)
            .where(Payout.id == payout_id)
            .values(created_at=utcnow() - timedelta(minutes=minutes))
        )


# --- 1. not sent vs unknown; status queries with backoff ------------------------------


def test_a_refused_connection_is_not_sent_and_keeps_its_key_for_the_retry(kazi: Kazi) -> None:
    payout_id = _payout_without_job(kazi, Scenario())
    key = kazi.payout(payout_id).idempotency_key
    provider = provider_for(kazi.runtime, kazi.payout(payout_id))
    provider.access_token()  # type: ignore[attr-defined]  # cached: the POST is refused
    kazi.emulator.stop()
    with kazi.runtime.activated(), pytest.raises(NotSent):
        submit_payout(payout_id)  # raised, so rq's Retry sends it again
    payout = kazi.payout(payout_id)
    assert (payout.status, payout.submit_attempts) == (PayoutStatus.REQUESTED, 0)
    assert payout.idempotency_key == key  # the same key: a duplicate would be refused
    assert legs(kazi, payout_id) == ["payout_hold"]
    assert SUBMIT_RETRY.max == 3


def test_status_queries_back_off_and_a_follow_up_asks_again_when_no_answer_comes(
    kazi: Kazi,
) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(kind="none"))
    kazi.wait_for(payout_id, PayoutStatus.SUBMITTED)
    # The query is queued after the submit's commit: on a busy machine it lands a moment
    # after the status does.
    wait_until(lambda: bool(pending(kazi, "resolve_unknown")))
    [query] = pending(kazi, "resolve_unknown")
    assert query.retry is QUERY_RETRY and query.delay == timedelta(minutes=10)
    kazi.emulator.silent_status = True  # Daraja accepts the queries, never answers
    with kazi.runtime.activated():
        resolve_unknown(payout_id)
        [first] = pending(kazi, "follow_up_query")
        assert first.args == (payout_id, 1) and first.delay == timedelta(minutes=10)
        follow_up_query(payout_id, 1)
        second = [s for s in pending(kazi, "follow_up_query") if s.args == (payout_id, 2)]
        assert [s.delay for s in second] == [timedelta(minutes=20)]  # backing off
        follow_up_query(payout_id, 1)  # a stale follow-up: a newer query was sent
        assert len(kazi.emulator.received(STATUS_PATH)) == 2
        kazi.emulator.silent_status = False
        follow_up_query(payout_id, 2)
    payout = kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    assert payout.status_queries == 3
    assert len(kazi.emulator.received(STATUS_PATH)) == 3
    assert len(b2c_requests(kazi, payout_id)) == 1  # asked, never resent


# --- 1. the periodic reconcile ---------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_the_reconcile_tick_runs_in_a_real_rq_worker_and_schedules_the_next(
    committed_url: str, emulator: DarajaEmulator, redis_client: Any
) -> None:
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from core.worker import run_worker
    from payouts.jobs import schedule_reconcile_tick
    from tests.conftest import REDIS_URL

    for kazi in build_kazi(committed_url, emulator, redis_url=REDIS_URL):
        lost = _payout_without_job(kazi, Scenario())  # its submit job never reached rq
        age(kazi, lost, 30)
        queue = Queue("payouts", connection=redis_client)
        queue.enqueue("payouts.jobs.reconcile_tick")
        run_worker(kazi.runtime, ["payouts"], burst=True)
        kazi.wait_for(lost, PayoutStatus.SETTLED)
        assert len(b2c_requests(kazi, lost)) == 1

        def ticks(queue: Queue = queue) -> list[str]:
            ids = ScheduledJobRegistry(queue=queue).get_job_ids()
            return [i for i in ids if i.startswith("tick-payouts-jobs-reconcile_tick-")]

        scheduled = ticks()
        assert len(scheduled) == 1 and scheduled[0].startswith(
            "tick-payouts-jobs-reconcile_tick-300-"
        )
        # A second worker starting (or the next tick) names the same slot: one chain.
        with kazi.runtime.sessions.begin() as session:
            schedule_reconcile_tick(session, kazi.runtime.settings.payout_reconcile_minutes)
        assert ticks() == scheduled


def test_the_timer_submits_periodically_runs_once_per_process_and_stops() -> None:
    jobs = RecordingJobQueue()
    spec = JobSpec("payouts.jobs.reconcile_tick", (False,), queue="payouts")
    timer, twin = PeriodicJob(jobs, spec, 0.01), PeriodicJob(jobs, spec, 0.01)
    assert timer.start()
    try:
        assert not twin.start()  # one per job per process
        wait_until(lambda: len(jobs.sent) >= 2, timeout=10)
        assert {s.func for s in jobs.sent} == {"payouts.jobs.reconcile_tick"}
    finally:
        timer.stop()
    assert not timer.running
    count = len(jobs.sent)
    assert twin.start()  # free again once stopped
    twin.stop()
    assert len(jobs.sent) - count <= 1  # at most a tick racing the stop, then none


def test_the_app_starts_its_timer_on_the_first_request_only_when_asked(
    committed_url: str,
) -> None:
    quiet = create_app(make_settings(database_url=committed_url))
    quiet.test_client().get("/healthz")
    assert "reconcile_timer" not in quiet.extensions["kazi"].extras  # off in tests
    first = create_app(make_settings(database_url=committed_url, payout_reconcile_timer=True))
    second = create_app(make_settings(database_url=committed_url, payout_reconcile_timer=True))
    timers = [app.extensions["kazi"].extras["reconcile_timer"] for app in (first, second)]
    try:
        assert not timers[0].running  # the factory starts nothing
        first.test_client().get("/healthz")
        second.test_client().get("/healthz")
        assert [t.running for t in timers] == [True, False]  # never twice in a process
    finally:
        for timer in timers:
            timer.stop()
        for app in (quiet, first, second):
            app.extensions["kazi"].engine.dispose()


# --- 2. the resolve window: one resend, Failed, alerts ---------------------------------


@pytest.mark.parametrize("window", [0.0001, 60.0], ids=["past-the-window", "within-it"])
def test_not_found_after_the_window_is_resent_once_under_the_same_key(
    committed_url: str, emulator: DarajaEmulator, window: float
) -> None:
    for kazi in build_kazi(committed_url, emulator, payout_resolve_window_minutes=window):
        emulator.force(B2C_PATH, 503, UNPROCESSED_503)  # answered before Daraja saw it
        emulator.status_callback_after = answer = threading.Event()
        payout_id = kazi.withdraw(5_000)
        wait_until(partial(_queried, kazi, payout_id))
        answer.set()  # "not found" arrives once the query's id is recorded
        if window < 1:
            payout = kazi.wait_for(payout_id, PayoutStatus.SETTLED)
            requests = b2c_requests(kazi, payout_id)
            assert len(requests) == 2  # the first (refused unprocessed) and the resend
            assert payout.resent_at is not None and payout.submit_attempts == 2
            assert legs(kazi, payout_id) == ["payout_hold", "payout_settle"]
        else:
            emulator.join_callbacks()
            in_process_jobs(kazi.runtime).drain()
            payout = kazi.payout(payout_id)
            assert payout.status is PayoutStatus.UNKNOWN and payout.resent_at is None
            assert len(b2c_requests(kazi, payout_id)) == 1
            # It keeps asking, backing off (the answer's re-query or the follow-up).
            [later] = pending(kazi, "follow_up_query")
            assert later.args == (payout_id, 1) and later.delay == timedelta(minutes=10)
        assert {r.body["OriginatorConversationID"] for r in b2c_requests(kazi, payout_id)} == {
            payout.idempotency_key
        }


def test_a_not_found_answer_overtaking_its_query_is_applied_by_the_query_job(
    committed_url: str, emulator: DarajaEmulator
) -> None:
    for kazi in build_kazi(committed_url, emulator, payout_resolve_window_minutes=0.0001):
        emulator.force(B2C_PATH, 503, UNPROCESSED_503)
        emulator.status_reply_after = ack = threading.Event()
        payout_id = kazi.withdraw(5_000)
        # The answer names no payout and its query id is not recorded yet: kept aside.
        wait_until(partial(_status_events_are, kazi, 1))
        assert kazi.payout(payout_id).status_query_id is None
        ack.set()  # now the query job hears back, records the id, finds the answer
        payout = kazi.wait_for(payout_id, PayoutStatus.SETTLED)
        assert payout.resent_at is not None and len(b2c_requests(kazi, payout_id)) == 2


def _status_events_are(kazi: Kazi, count: int) -> bool:
    with kazi.runtime.sessions() as session:
        stmt = select(WebhookEvent).where(WebhookEvent.kind == "b2c_status")
        return len(session.scalars(stmt).all()) == count


def _queried(kazi: Kazi, payout_id: int) -> bool:
    return kazi.payout(payout_id).status_query_id is not None


def test_a_payout_unknown_past_the_window_raises_an_alert_on_the_console_and_metrics(
    kazi: Kazi,
) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(kind="none"))
    kazi.wait_for(payout_id, PayoutStatus.SUBMITTED)
    client = admin(kazi)
    assert "without an outcome after" not in client.get("/console/payouts").get_data(as_text=True)
    assert metric(kazi, "kazi_payouts_overdue ") == "kazi_payouts_overdue 0.0"
    age(kazi, payout_id, 61)  # the window is 60 minutes
    page = client.get("/console/payouts").get_data(as_text=True)
    assert "ALERT: 1 payout(s) without an outcome after 60 minutes" in page
    assert f"payout {payout_id} (submitted, KES 50" in page
    assert metric(kazi, "kazi_payouts_overdue ") == "kazi_payouts_overdue 1.0"


# --- 3. contradictions freeze money ----------------------------------------------------


def test_a_late_success_blocks_withdrawals_until_an_admin_writes_it_off(kazi: Kazi) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(kind="failure", result_code=2040))
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    late = {
        "Result": {
            "ResultType": 0, "ResultCode": 0, "ResultDesc": "processed successfully",
            "OriginatorConversationID": payout.idempotency_key,
            "ConversationID": payout.provider_reference, "TransactionID": "UEMLATE0002",
        }
    }  # fmt: skip
    response = kazi.app.test_client().post(
        "/webhooks/payouts/b2c/result?token=s3cret-hook-token", json=late
    )
    assert response.status_code == 200
    with kazi.runtime.sessions() as session:
        assert payout_postings.owed_by_worker(session, payout.worker_id, "KES").amount == 5_000
    with pytest.raises(WithdrawalRefused) as refused:
        withdraw_again(kazi, payout_id)
    assert refused.value.reason == "under_review"
    assert metric(kazi, "kazi_payouts_contradicted ") == "kazi_payouts_contradicted 1.0"
    client = admin(kazi)
    page = post(client, f"/console/payouts/{payout_id}/contradiction", how="bogus")
    assert "choose recover or write off" in page
    page = post(client, f"/console/payouts/{payout_id}/contradiction", how="write_off")
    assert f"Payout {payout_id}: written off" in page
    with kazi.runtime.sessions() as session:
        assert payout_postings.owed_by_worker(session, payout.worker_id, "KES").amount == 0
    assert balance_of(kazi, payout_id) == 10_000  # the worker keeps the returned money
    assert withdraw_again(kazi, payout_id).status is PayoutStatus.REQUESTED


def test_a_different_paid_amount_is_flagged_and_never_settled(kazi: Kazi) -> None:
    payout_id = kazi.withdraw(5_000, scenario=Scenario(paid_amount=40))
    wait_until(lambda: kazi.payout(payout_id).contradiction is not None)
    payout = kazi.payout(payout_id)
    assert (payout.status, payout.contradiction) == (PayoutStatus.UNKNOWN, "amount_differs")
    assert payout.paid_amount_minor == 4_000
    assert legs(kazi, payout_id) == ["payout_hold"]  # held, not settled
    with pytest.raises(WithdrawalRefused):
        withdraw_again(kazi, payout_id)
    page = admin(kazi).get("/console/payouts").get_data(as_text=True)
    assert "the provider paid KES 40.00, not KES 50.00" in page


# --- 4. fees, float and paused rails ---------------------------------------------------


def test_charges_go_to_the_fee_account_and_the_float_drift_is_shown(kazi: Kazi) -> None:
    ids = []
    for _ in range(2):
        ids.append(kazi.withdraw(5_000))
        kazi.wait_for(ids[-1], PayoutStatus.SETTLED)
    first, second = kazi.payout(ids[0]), kazi.payout(ids[1])
    assert (first.float_after_minor, second.float_after_minor) == (22_797_200, 22_790_700)
    assert first.fee_minor is None  # no earlier reading of the charges account
    assert second.fee_minor == 1_500
    with kazi.runtime.sessions() as session:
        assert ledger.account_total(session, AccountKind.FEES, "KES").amount == 1_500
    assert legs(kazi, ids[1]) == ["payout_fee", "payout_hold", "payout_settle"]
    client = admin(kazi)
    page = client.get("/console/payouts").get_data(as_text=True)
    assert 'id="drift">KES 0.00' in page
    kazi.emulator.utility_kes += 1_000  # someone topped up the utility account
    kazi.wait_for(kazi.withdraw(5_000), PayoutStatus.SETTLED)
    page = client.get("/console/payouts").get_data(as_text=True)
    assert 'id="drift">-KES 1000.00' in page and "the float grew" in page


def test_a_configuration_code_pauses_the_rail_and_an_admin_resumes_it(kazi: Kazi) -> None:
    scenario = Scenario(kind="failure", result_code=2001)
    first = kazi.withdraw(5_000, scenario=scenario)
    wait_until(lambda: kazi.payout(first).result_code == "2001")
    payout = kazi.payout(first)
    assert (payout.status, payout.submit_attempts) == (PayoutStatus.REQUESTED, 0)
    assert legs(kazi, first) == ["payout_hold"]  # not failed, not returned: waiting
    second = kazi.withdraw(5_000)
    in_process_jobs(kazi.runtime).drain()
    assert kazi.payout(second).status is PayoutStatus.REQUESTED
    assert len(kazi.emulator.received(B2C_PATH)) == 1  # nothing more was sent
    assert metric(kazi, "kazi_payouts_paused{") == 'kazi_payouts_paused{provider="daraja"} 1.0'
    client = admin(kazi)
    assert "ALERT: daraja payouts are paused" in client.get("/console/payouts").get_data(
        as_text=True
    )
    page = post(client, "/console/payouts/rails/daraja/resume")
    assert "daraja resumed: 2 waiting payout(s) sent." in page
    for payout_id in (first, second):
        kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    sent = [r.body["OriginatorConversationID"] for r in kazi.emulator.received(B2C_PATH)]
    # The refused key is spent (Daraja remembers it): the paused payout went under a new one.
    assert len(sent) == 3 and sent[0] != kazi.payout(first).idempotency_key
    assert kazi.payout(first).idempotency_key in sent[1:]
    assert metric(kazi, "kazi_payouts_paused{") == ""


# --- 5. statement import ---------------------------------------------------------------

STATEMENT_HEADER = (
    '"Receipt No.","Completion Time","Initiation Time","Details","Transaction Status",'
    '"Paid In","Withdrawn","Balance","Balance Confirmed","Reason Type","Other Party Info",'
    '"Linked Transaction ID","A/C No."'
)


def test_a_statement_import_matches_payouts_and_reports_both_sides(
    kazi: Kazi, tmp_path: Any
) -> None:
    ids = [kazi.withdraw(5_000), kazi.withdraw(5_000)]
    paid = [kazi.wait_for(i, PayoutStatus.SETTLED) for i in ids]
    when = "15-01-2026 10:15:02"  # the emulator's completion time, EAT
    rows = [
        "Organisation Name:,Test Microwork Ltd",  # the portal's preamble
        STATEMENT_HEADER,
        f'{paid[0].receipt},{when},{when},"Business Payment to 254711000111 - JANE",Completed,'
        ",-50.00,227972.00,Yes,Business Payment to Customer via API,254711000111 - JANE,,",
        f"{paid[0].receipt},{when},{when},Business Payment Charge,Completed,,-15.00,227957.00,"
        "Yes,Business Payment Charge,,,",
        f"{paid[1].receipt},{when},{when},Business Payment,Completed,,-60.00,227897.00,Yes,"
        "Business Payment to Customer via API,254711000222 - JOHN,,",
        f"UEMNOTOURS,{when},{when},Business Payment,Completed,,-70.00,227827.00,Yes,"
        "Business Payment to Customer via API,254711000333 - SOMEONE,,",
    ]
    path = tmp_path / "statement.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    runner = kazi.app.test_cli_runner()
    result = runner.invoke(args=["payouts", "statement", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 line(s), 1 matched, 1 charge line(s)" in result.output
    assert f"UNMATCHED LINE row 5 {paid[1].receipt}: payout {ids[1]} booked 5000" in result.output
    assert "UNMATCHED LINE row 6 UEMNOTOURS: no payout has this receipt" in result.output
    assert f"UNMATCHED PAYOUT {ids[1]} ({paid[1].receipt}, 5000)" in result.output
    assert "unmatched 3" in result.output
    page = admin(kazi).get("/console/payouts").get_data(as_text=True)
    assert "Last statement import" in page and "statement.csv" in page
    assert "1 matched, 2 unmatched line(s)" in page
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = runner.invoke(args=["payouts", "statement", "import", str(bad)])
    assert result.exit_code == 1 and "no header row with a 'Receipt No.' column" in result.output
