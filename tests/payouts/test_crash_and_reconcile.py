"""A worker killed mid-payment never pays twice; reconcile and the float check."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from typing import Any

import pytest

from core.jobs import JobSpec
from core.runtime import install
from kazi.app import build_kazi_runtime
from payouts.errors import ProviderAuthError
from payouts.jobs import submit_payout
from payouts.models import PayoutStatus
from payouts.providers.daraja import B2C_PATH, STATUS_PATH
from tests.emulators.daraja import DarajaEmulator, Scenario
from tests.payouts.conftest import Kazi, build_kazi
from tests.payouts.factories import wait_until
from tests.payouts.test_daraja_payouts import b2c_requests, balance_of, legs


def _run_submit_job(settings: Any, payout_id: int) -> None:
    """The body of a forked work horse: its own runtime, then the submit job."""
    runtime = build_kazi_runtime(settings)
    install(runtime)
    submit_payout(payout_id)


def test_a_worker_killed_between_the_provider_call_and_the_write_never_pays_twice(
    kazi: Kazi,
) -> None:
    # The payout's job is run by a forked process instead of the app's runner: the
    # app's runner gets a copy we hold back by stopping it from seeing this payout.
    settings = kazi.runtime.settings
    answer = threading.Event()  # never set before the kill: the horse cannot hear back
    payout_id = _payout_without_job(kazi, Scenario(kind="none", reply_after=answer))
    horse = multiprocessing.get_context("fork").Process(
        target=_run_submit_job, args=(settings, payout_id)
    )
    horse.start()
    assert horse.pid is not None
    # The emulator has the payment (and will pay it) but holds its answer: kill now.
    try:
        wait_until(lambda: len(b2c_requests(kazi, payout_id)) == 1)
        os.kill(horse.pid, signal.SIGKILL)
        horse.join(5)
    finally:
        answer.set()  # the emulator's answer now goes to a dead socket
    assert horse.exitcode == -signal.SIGKILL
    payout = kazi.payout(payout_id)
    assert (payout.status, payout.submit_attempts) == (PayoutStatus.REQUESTED, 1)
    # rq's retry (or an operator) runs the job again: it queries, it does not resend.
    with kazi.runtime.activated():
        submit_payout(payout_id)
    payout = kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    assert len(b2c_requests(kazi, payout_id)) == 1
    assert len(kazi.emulator.received(STATUS_PATH)) == 1
    assert legs(kazi, payout_id) == [
        "payout_fee",
        "payout_hold",
        "payout_settle",
    ]  # the status answer has the charge
    assert balance_of(kazi, payout_id) == 5_000


def _payout_without_job(kazi: Kazi, scenario: Scenario) -> int:
    """A committed payout whose submit job is dropped, so only the test runs it."""
    jobs = kazi.runtime.jobs
    sent: list[JobSpec] = []

    def hold_back(spec: JobSpec) -> None:
        sent.append(spec)

    original = jobs.submit
    jobs.submit = hold_back  # type: ignore[method-assign]  # the test holds the submit job back
    try:
        payout_id = kazi.withdraw(5_000, scenario=scenario)
    finally:
        jobs.submit = original  # type: ignore[method-assign]  # and then puts the queue back
    assert [spec.job_id for spec in sent] == [f"payout-{payout_id}"]
    return payout_id


def test_reconcile_resolves_stuck_payouts_and_reports_the_ledger(kazi: Kazi) -> None:
    silent = kazi.withdraw(5_000, scenario=Scenario(kind="none"))
    kazi.wait_for(silent, PayoutStatus.SUBMITTED)
    lost = _payout_without_job(kazi, Scenario())
    result = kazi.app.test_cli_runner().invoke(
        args=["payouts", "reconcile", "--older-than", "0", "--wait", "30"]
    )
    assert result.exit_code == 0, result.output
    assert "2 payout(s) without an outcome" in result.output
    assert f"payout {silent}: submitted -> settled" in result.output
    # The lost job was sent again (nothing had reached Daraja), and paid once.
    assert f"payout {lost}: requested -> settled" in result.output
    assert "resolved 2, unresolved 0, ledger mismatches 0" in result.output
    assert len(b2c_requests(kazi, lost)) == 1
    assert len(b2c_requests(kazi, silent)) == 1


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize(("threshold", "exit_code", "says"), [(100, 0, "ok"), (10**9, 2, "ALERT")])
def test_the_balance_command_reads_the_float_and_alerts_below_the_threshold(
    committed_url: str, emulator: DarajaEmulator, threshold: int, exit_code: int, says: str
) -> None:
    for kazi in build_kazi(committed_url, emulator, payout_float_alert_minor=threshold):
        kazi.wait_for(kazi.withdraw(5_000), PayoutStatus.SETTLED)
        result = kazi.app.test_cli_runner().invoke(args=["payouts", "balance", "--wait", "30"])
        assert result.exit_code == exit_code, result.output
        # The payment (KES 50) and its charge (KES 15) left the utility account.
        assert "utility account: KES 227,972 available" in result.output
        assert says in result.output
        [query] = emulator.received("/mpesa/accountbalance/v1/query")
        assert query.body["ResultURL"].endswith("&kind=balance")
    # The payment and the balance clients share one token (a new one kills the old).
    assert emulator.tokens_issued == 1


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_refused_oauth_sends_nothing_and_leaves_the_payout_to_retry(
    committed_url: str, emulator: DarajaEmulator
) -> None:
    for kazi in build_kazi(committed_url, emulator, mpesa_consumer_secret="wrong"):
        payout_id = _payout_without_job(kazi, Scenario())
        with kazi.runtime.activated(), pytest.raises(ProviderAuthError):
            submit_payout(payout_id)  # raised, so rq's Retry runs it again later
        payout = kazi.payout(payout_id)
        assert (payout.status, payout.submit_attempts) == (PayoutStatus.REQUESTED, 0)
        assert emulator.received(B2C_PATH) == []


def test_a_payout_the_provider_cannot_take_fails_before_sending(kazi: Kazi) -> None:
    payout_id = kazi.withdraw(5_000, phone="+256712345678")  # M-Pesa Kenya pays KE numbers
    payout = kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert payout.result_code == "invalid_phone_e164"
    assert emulator_b2c_count(kazi) == 0
    assert legs(kazi, payout_id) == ["payout_hold", "payout_release"]
    assert balance_of(kazi, payout_id) == 10_000


def emulator_b2c_count(kazi: Kazi) -> int:
    return len(kazi.emulator.received(B2C_PATH))
