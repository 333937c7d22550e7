"""The embedded default: sandbox payouts complete through the same callback code path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.webhooks import WebhookEvent
from kazi.app import create_app
from payouts.models import PayoutStatus
from payouts.providers.sandbox import FAILING_PHONES, SILENT_PHONE, TIMEOUT_PHONE
from tests.conftest import make_settings
from tests.emulators.daraja import DarajaEmulator
from tests.payouts.conftest import Kazi
from tests.payouts.test_daraja_payouts import balance_of, legs, receipts
from tests.support.embedded import in_process_jobs


@pytest.fixture
def sandbox_kazi(committed_url: str) -> Iterator[Kazi]:
    """Kazi on its embedded default: in-process jobs, sandbox payouts, console SMS."""
    app = create_app(make_settings(database_url=committed_url, payout_sandbox_delay_seconds=0.05))
    runtime = app.extensions["kazi"]
    # The Kazi helper wants an emulator for scenarios; the sandbox never calls it.
    yield Kazi(app, runtime, "", DarajaEmulator())
    runtime.jobs.drain(timeout=10)
    runtime.engine.dispose()


def callback_kinds(kazi: Kazi) -> list[str]:
    with kazi.runtime.sessions() as session:
        return list(session.scalars(select(WebhookEvent.kind).order_by(WebhookEvent.id)))


def test_a_sandbox_payout_settles_through_the_callback_service(sandbox_kazi: Kazi) -> None:
    payout_id = sandbox_kazi.withdraw(5_000)
    payout = sandbox_kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    assert payout.receipt is not None and payout.receipt.startswith("SBX")
    assert payout.recipient_name == "SANDBOX WORKER"
    assert callback_kinds(sandbox_kazi) == ["b2c_result"]
    assert legs(sandbox_kazi, payout_id) == ["payout_hold", "payout_settle"]
    in_process_jobs(sandbox_kazi.runtime).drain()
    assert len(receipts(sandbox_kazi, payout_id)) == 1


@pytest.mark.parametrize("phone", sorted(FAILING_PHONES))
def test_a_failing_magic_phone_returns_the_money(sandbox_kazi: Kazi, phone: str) -> None:
    payout_id = sandbox_kazi.withdraw(5_000, phone=phone)
    sandbox_kazi.wait_for(payout_id, PayoutStatus.FAILED)
    assert balance_of(sandbox_kazi, payout_id) == 10_000
    in_process_jobs(sandbox_kazi.runtime).drain()
    [sms] = receipts(sandbox_kazi, payout_id)
    assert "back in your balance" in sms


def test_a_timed_out_sandbox_payout_is_found_paid_by_a_status_query(sandbox_kazi: Kazi) -> None:
    payout_id = sandbox_kazi.withdraw(5_000, phone=TIMEOUT_PHONE)
    sandbox_kazi.wait_for(payout_id, PayoutStatus.SETTLED)
    assert callback_kinds(sandbox_kazi) == ["b2c_timeout", "b2c_status"]


def test_a_silent_sandbox_payout_is_settled_by_reconcile(sandbox_kazi: Kazi) -> None:
    payout_id = sandbox_kazi.withdraw(5_000, phone=SILENT_PHONE)
    sandbox_kazi.wait_for(payout_id, PayoutStatus.SUBMITTED)
    result = sandbox_kazi.app.test_cli_runner().invoke(
        args=["payouts", "reconcile", "--older-than", "0", "--wait", "30"]
    )
    assert f"payout {payout_id}: submitted -> settled" in result.output, result.output
    assert legs(sandbox_kazi, payout_id) == ["payout_hold", "payout_settle"]


@pytest.mark.redis
@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_under_rq_a_timed_out_sandbox_payout_is_found_by_another_work_horse(
    committed_url: str, redis_client
) -> None:
    from core.worker import run_worker
    from tests.conftest import REDIS_URL

    settings = make_settings(
        database_url=committed_url, redis_url=REDIS_URL, payout_sandbox_delay_seconds=0
    )
    app = create_app(settings)
    kazi = Kazi(app, app.extensions["kazi"], "", DarajaEmulator())
    payout_id = kazi.withdraw(5_000, phone=TIMEOUT_PHONE)
    # Each job runs in its own forked work horse: only the shared store links them.
    run_worker(kazi.runtime, ["payouts"], burst=True)
    assert kazi.payout(payout_id).status is PayoutStatus.SETTLED
    assert callback_kinds(kazi) == ["b2c_timeout", "b2c_status"]
    kazi.runtime.engine.dispose()
