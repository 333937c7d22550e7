"""gunicorn settings for Kazi; command-line flags override them."""

from typing import Protocol

# USSD hops must answer in milliseconds; a request that takes 30 s is stuck, not slow.
timeout = 30
graceful_timeout = 20
# No access log by default: a line per USSD hop is a synchronous write on the hot path
# of every request (issue 13), and each hop is timed for Prometheus already
# (kazi_ussd_request_seconds) with failures in the error log. `--access-logfile -` turns
# it on, in the format below.
accesslog = None
# gunicorn's default format logs the request line ``%(r)s``, query string included, and
# our webhook URLs carry ``?token=<secret>``: log the path alone (``%(U)s``), see
# https://docs.gunicorn.org/en/stable/settings.html#access-log-format
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
errorlog = "-"
# Behind a TLS-terminating proxy the public URL differs from what gunicorn sees; Kazi
# builds signature-checked URLs from PUBLIC_BASE_URL, not from these headers.
forwarded_allow_ips = "127.0.0.1"


class _Worker(Protocol):
    """What the hook reads of gunicorn's worker object."""

    pid: int


def child_exit(server: object, worker: _Worker) -> None:
    """Drop a dead worker's live gauges from the shared Prometheus directory (see core/metrics.py)."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
