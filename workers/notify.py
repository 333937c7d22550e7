"""Telling a worker something outside a conversation: a notice in their language, by SMS.

A domain that has news for a worker (a payout paid or failed) queues the job
``workers.jobs.notify`` with a catalog key and its values; the job renders the text
in the worker's language from the flows' catalogs (``[payout]`` in
``flows/locales/*.toml``, where every worker-facing string lives) and hands it to the
runtime's ``Channel``. The channel is the gateway's SMS outbox, installed by the
wiring package: workers, payouts and tasks never import the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

from sqlalchemy.orm import Session

from core.runtime import Runtime
from flows.engine import default_library
from workers.models import Worker

_CHANNEL = "workers.channel"


class Channel(Protocol):
    """Where a notice goes: stored and queued in the caller's transaction, sent after commit."""

    def send_text(self, session: Session, *, worker: Worker, text: str) -> None: ...


def install_channel(runtime: Runtime, channel: Channel) -> None:
    """Make ``channel`` the way this runtime's notices reach workers (the wiring calls this)."""
    runtime.extras[_CHANNEL] = channel


def channel_of(runtime: Runtime) -> Channel:
    """The channel installed in this runtime."""
    channel = runtime.extras.get(_CHANNEL)
    if channel is None:
        raise RuntimeError("no worker channel installed: build the runtime through kazi.app")
    return cast(Channel, channel)


def notice_text(key: str, language: str, values: Mapping[str, Any]) -> str:
    """A notice from the catalogs in ``language`` (English when the language lacks it)."""
    return default_library().catalogs.text(key, language, values)
