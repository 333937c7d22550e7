"""Fixtures for payout tests: the Daraja emulator, a callback recorder, client factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests

from core.kvstore import KeyValueStore, MemoryStore
from payouts.providers.daraja import DarajaClient, DarajaConfig
from tests.emulators.daraja import DarajaEmulator
from tests.emulators.http import CallbackRecorder

WEBHOOK_TOKEN = "s3cret-hook-token"


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
