"""An rq worker on the ``sms`` queue whose Africa's Talking SDK posts to a local fake server.

``python -m bench.outbound_worker`` with ``KAZI_BENCH_FAKE_AT_URL`` (the fake server's
base URL) and Kazi's usual environment. Everything else is the production worker
(``flask worker sms``): the same runtime, jobs, rate limiter and provider
adapter; only the SDK's host is swapped, as the SDK chooses it itself (live or sandbox).
"""

from __future__ import annotations

import os
from typing import Any

from africastalking.SMS import SMSService

import gateway.providers.africastalking as africastalking
from config.settings import Settings
from core.worker import run_worker
from kazi.app import build_kazi_runtime


class LocalSMSService(SMSService):
    """The SDK's SMS service posting to the fake server instead of api.africastalking.com."""

    def __init__(self, username: str, api_key: str, *args: Any) -> None:
        super().__init__(username, api_key, *args)
        self._baseUrl = os.environ["KAZI_BENCH_FAKE_AT_URL"].rstrip("/") + "/version1"


def main() -> int:
    """Work the sms queue until stopped (SIGTERM)."""
    africastalking.SMSService = LocalSMSService
    runtime = build_kazi_runtime(Settings.from_env())
    run_worker(runtime, ["sms"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
