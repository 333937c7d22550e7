"""Process-level Prometheus metrics that request handlers observe directly.

The gateway's USSD view times every hop with the histogram below::

    from core.metrics import USSD_REQUEST_SECONDS

    with USSD_REQUEST_SECONDS.labels(provider="africastalking").time():
        ...  # verify, decode, run the flow, render the screen

It lives in its own registry so importing it twice (tests, reloads) never collides
with prometheus-client's global one. Under gunicorn with several workers, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory writable by every worker: each
process then writes its observations there and ``/metrics`` adds them up, so every
scrape sees all workers (the database-backed metrics need no such help).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

#: USSD answers must arrive within the network's few-second budget; buckets focus there.
USSD_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)

USSD_REQUEST_SECONDS = Histogram(
    "kazi_ussd_request_seconds",
    "Time to answer one USSD webhook request (one hop), by provider.",
    ["provider"],
    buckets=USSD_BUCKETS,
    registry=REGISTRY,
)


def multiprocess_dir() -> str | None:
    """The directory shared by gunicorn workers' metrics, when multi-process mode is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
