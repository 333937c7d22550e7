"""The embedded doubles behind a test runtime, typed as what they are."""

from __future__ import annotations

from core.jobs import InProcessJobQueue
from core.runtime import Runtime
from gateway.jobs import sms_provider
from gateway.providers.console import ConsoleProvider


def in_process_jobs(runtime: Runtime) -> InProcessJobQueue:
    """The runtime's job queue, which a runtime built without Redis runs in this process."""
    assert isinstance(runtime.jobs, InProcessJobQueue), "this test needs the embedded job queue"
    return runtime.jobs


def console_sms(runtime: Runtime) -> ConsoleProvider:
    """The SMS provider of a runtime on the default ``console`` provider (it keeps an outbox)."""
    provider = sms_provider(runtime)
    assert isinstance(provider, ConsoleProvider), "this test needs SMS_PROVIDER=console"
    return provider
