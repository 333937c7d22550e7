"""``/metrics``: database counts at scrape time, queue depths, and the USSD latency histogram."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from config.settings import REPO_ROOT
from core.db import utcnow
from core.metrics import USSD_REQUEST_SECONDS
from kazi.app import create_app
from payouts.models import PayoutStatus
from tests.conftest import make_settings
from tests.console import factories as make


def scrape(app: Flask) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """``{sample name: {sorted labels: value}}`` from the app's /metrics."""
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def test_messages_and_payouts_are_counted_from_the_database(app: Flask) -> None:
    now = utcnow()
    with app.extensions["kazi"].sessions.begin() as session:
        make.message(session, now, direction="in", status="received")
        make.message(session, now, status="delivered")
        make.message(session, now, status="delivered")
        make.message(session, now, status="failed", channel="whatsapp")
        make.message(session, now - timedelta(hours=30), status="failed")  # outside the window
        ann = make.worker(session, "+254700000001")
        make.payout(session, ann, 5000, PayoutStatus.SETTLED, now)
        make.payout(session, ann, 2500, PayoutStatus.SETTLED, now - timedelta(days=90))
        make.payout(session, ann, 1000, PayoutStatus.FAILED, now)
    samples = scrape(app)
    assert samples["kazi_messages_24h"] == {
        (("channel", "sms"), ("direction", "in"), ("status", "received")): 1,
        (("channel", "sms"), ("direction", "out"), ("status", "delivered")): 2,
        (("channel", "whatsapp"), ("direction", "out"), ("status", "failed")): 1,
    }
    assert samples["kazi_payouts"] == {
        (("currency", "KES"), ("status", "failed")): 1,
        (("currency", "KES"), ("status", "settled")): 2,
    }
    assert (
        samples["kazi_payouts_amount_minor"][(("currency", "KES"), ("status", "settled"))] == 7500
    )
    assert "kazi_queue_depth" not in samples  # no Redis: jobs run in-process


def test_ussd_latency_histogram_is_exported(app: Flask) -> None:
    provider = f"test-{uuid.uuid4().hex[:8]}"  # the histogram lives as long as the process
    USSD_REQUEST_SECONDS.labels(provider=provider).observe(0.04)
    USSD_REQUEST_SECONDS.labels(provider=provider).observe(3.0)
    samples = scrape(app)
    label = ("provider", provider)
    assert samples["kazi_ussd_request_seconds_count"][(label,)] == 2
    assert samples["kazi_ussd_request_seconds_sum"][(label,)] == pytest.approx(3.04)
    buckets = samples["kazi_ussd_request_seconds_bucket"]
    assert buckets[(("le", "0.05"), label)] == 1
    assert buckets[(("le", "5.0"), label)] == 2


def test_queue_depths_come_from_redis(committed_url: str, redis_url: str, redis_client) -> None:
    app = create_app(make_settings(database_url=committed_url, redis_url=redis_url))
    try:
        queue = Queue("sms", connection=redis_client)
        queue.enqueue("gateway.jobs.send_message", 1)
        queue.enqueue("gateway.jobs.send_message", 2)
        depths = scrape(app)["kazi_queue_depth"]
        assert depths == {
            (("queue", "sms"),): 2,
            (("queue", "payouts"),): 0,
            (("queue", "default"),): 0,
        }
    finally:
        app.extensions["kazi"].engine.dispose()


def test_gunicorn_workers_latencies_add_up_in_multiprocess_mode(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each "worker" is a separate process writing to the shared directory.
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    code = (
        "from core.metrics import USSD_REQUEST_SECONDS as h; h.labels(provider='mp').observe(0.2)"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, check=True)
    with app.extensions["kazi"].sessions.begin() as session:
        make.message(session, utcnow())
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(app)
    assert samples["kazi_ussd_request_seconds_count"][(("provider", "mp"),)] == 2
    assert sum(samples["kazi_messages_24h"].values()) == 1  # the database is still read


def test_metrics_token_guards_the_endpoint_when_set(committed_url: str) -> None:
    app = create_app(make_settings(database_url=committed_url, metrics_token="scrape-secret"))
    try:
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.get_json()["error"]["code"] == "unauthorized"
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert right.status_code == 200 and b"kazi_ussd_request_seconds" in right.data
    finally:
        app.extensions["kazi"].engine.dispose()
