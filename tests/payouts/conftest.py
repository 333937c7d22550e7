"""Fixtures for payout tests: the Daraja emulator, a callback recorder, client factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import requests

from core.db import build_engine, build_sessionmaker
from core.jobs import bind_jobs_to_sessions
from core.kvstore import KeyValueStore, MemoryStore
from core.runtime import Runtime
from kazi.app import create_app
from payouts.models import Payout, PayoutStatus
from payouts.providers.daraja import DarajaClient, DarajaConfig
from payouts.withdrawals import WithdrawalLimits, request_withdrawal
from tests.conftest import RecordingJobQueue, make_settings
from tests.emulators.daraja import DarajaEmulator, Scenario
from tests.emulators.http import BackgroundServer, CallbackRecorder
from tests.payouts.factories import PIN, earn, make_worker, wait_until

WEBHOOK_TOKEN = "s3cret-hook-token"


@pytest.fixture
def committed_session(committed_url: str, sent_jobs: RecordingJobQueue):
    """A session on a real database whose commits are real (SQLite savepoints cannot nest)."""
    engine = build_engine(committed_url)
    factory = build_sessionmaker(engine)
    bind_jobs_to_sessions(factory, sent_jobs)
    with factory() as s:
        yield s
    engine.dispose()


@pytest.fixture
def recorder() -> Iterator[CallbackRecorder]:
    """Our webhook side, recording what Daraja (or the emulator) posts."""
    rec = CallbackRecorder()
    rec.start()
    yield rec
    rec.stop()


@pytest.fixture
def emulator() -> Iterator[DarajaEmulator]:
    """A running Daraja emulator on a free local port."""
    emu = DarajaEmulator()
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def make_client(
    emulator: DarajaEmulator, recorder: CallbackRecorder
) -> Iterator[Callable[..., DarajaClient]]:
    """Build Daraja clients against the emulator; each has its own HTTP session."""
    sessions: list[requests.Session] = []
    base = DarajaConfig(
        base_url=emulator.url,
        consumer_key=emulator.consumer_key,
        consumer_secret=emulator.consumer_secret,
        shortcode=emulator.shortcode,
        initiator_name=emulator.initiator_name,
        security_credential="c2VjdXJpdHktY3JlZGVudGlhbA==",
        result_url=f"{recorder.url}/webhooks/payouts/b2c/result?token={WEBHOOK_TOKEN}",
        timeout_url=f"{recorder.url}/webhooks/payouts/b2c/timeout?token={WEBHOOK_TOKEN}",
        connect_timeout=2.0,
        read_timeout=5.0,
    )

    def make(store: KeyValueStore | None = None, **overrides: Any) -> DarajaClient:
        session = requests.Session()
        sessions.append(session)
        return DarajaClient(replace(base, **overrides), session, store or MemoryStore())

    yield make
    for session in sessions:
        session.close()


@dataclass
class Kazi:
    """Kazi serving over real HTTP, paying through the Daraja emulator."""

    app: Any
    runtime: Runtime
    url: str
    emulator: DarajaEmulator

    def withdraw(
        self,
        amount: int = 5_000,
        *,
        earned: int = 10_000,
        scenario: Scenario | None = None,
        **worker: Any,
    ) -> int:
        """A worker earns ``earned`` and withdraws ``amount`` (the emulator will play
        ``scenario``); returns the payout id once committed, its job on its way."""
        with self.runtime.sessions.begin() as session:
            worker_row = make_worker(session, **worker)
            earn(session, worker_row.id, earned)
            payout = request_withdrawal(
                session,
                worker_id=worker_row.id,
                pin=PIN,
                amount_minor=amount,
                limits=WithdrawalLimits.from_settings(self.runtime.settings),
                store=self.runtime.store,
                provider=self.runtime.settings.payout_provider,
            )
            if scenario is not None:  # set before the commit sends the submit job
                assert payout.idempotency_key is not None  # written with the row
                self.emulator.scenarios[payout.idempotency_key] = scenario
            return payout.id

    def payout(self, payout_id: int) -> Payout:
        with self.runtime.sessions() as session:
            return session.get_one(Payout, payout_id)

    def wait_for(self, payout_id: int, status: PayoutStatus, timeout: float = 30.0) -> Payout:
        wait_until(lambda: self.payout(payout_id).status is status, timeout)
        return self.payout(payout_id)


def build_kazi(committed_url: str, emulator: DarajaEmulator, **overrides: Any) -> Iterator[Kazi]:
    """Start Kazi's app on a free port with settings pointing at the emulator."""
    holder: dict[str, Any] = {}
    server = BackgroundServer(lambda environ, start: holder["app"](environ, start))
    values: dict[str, Any] = dict(
        database_url=committed_url,
        payout_provider="daraja",
        mpesa_base_url=emulator.url,
        mpesa_consumer_key=emulator.consumer_key,
        mpesa_consumer_secret=emulator.consumer_secret,
        mpesa_shortcode=emulator.shortcode,
        mpesa_initiator_name=emulator.initiator_name,
        mpesa_security_credential="c2VjdXJpdHktY3JlZGVudGlhbA==",
        mpesa_webhook_token=WEBHOOK_TOKEN,
        public_base_url=server.url,
    )
    values.update(overrides)
    app = create_app(make_settings(**values))
    holder["app"] = app
    server.start()
    runtime = app.extensions["kazi"]
    yield Kazi(app, runtime, server.url, emulator)
    emulator.join_callbacks()
    if hasattr(runtime.jobs, "drain"):  # the embedded runner (rq jobs stay in Redis)
        runtime.jobs.drain(timeout=10)
    server.stop()
    runtime.engine.dispose()


@pytest.fixture
def kazi(committed_url: str, emulator: DarajaEmulator) -> Iterator[Kazi]:
    """Kazi with PAYOUT_PROVIDER=daraja against the emulator, webhooks over real HTTP."""
    yield from build_kazi(committed_url, emulator)
