"""``/metrics`` for Prometheus: traffic and payouts read from the database at scrape time.

Counting in the database, not in process memory, means every gunicorn worker answers
a scrape with the same numbers. Message counts cover a recent window (a gauge, since
messages move between statuses) so a scrape stays one index range scan however large
the table grows; payouts are few enough to count in full.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.queries import payouts_by_status
from core import metrics as process_metrics
from core.db import utcnow
from core.errors import Unauthorized
from core.runtime import Runtime
from core.secrets import tokens_equal
from gateway.models import Direction, Message
from payouts.pauses import active_pauses
from payouts.reconcile import open_contradictions, overdue_payouts

bp = Blueprint("metrics", __name__)
log = logging.getLogger("kazi.metrics")

#: The window of messages counted on each scrape.
MESSAGE_WINDOW = timedelta(hours=24)


class DatabaseCollector:
    """Reads the numbers from the database on every collection."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[Metric]:
        messages = GaugeMetricFamily(
            "kazi_messages_24h",
            "SMS stored in the last 24 hours, by direction, channel and current status.",
            labels=["direction", "channel", "status"],
        )
        count = GaugeMetricFamily(
            "kazi_payouts", "Payouts by status and currency.", labels=["status", "currency"]
        )
        amount = GaugeMetricFamily(
            "kazi_payouts_amount_minor",
            "Payout amounts in minor units (cents), by status and currency.",
            labels=["status", "currency"],
        )
        with self._runtime.sessions() as session:
            rows = session.execute(
                select(Message.direction, Message.channel, Message.status, func.count())
                .where(Message.created_at >= utcnow() - MESSAGE_WINDOW)
                .group_by(Message.direction, Message.channel, Message.status)
            )
            for direction, channel, status, n in rows:
                messages.add_metric([Direction(direction).value, channel, status], n)
            for total in payouts_by_status(session):
                labels = [total.status, total.amount.currency]
                count.add_metric(labels, total.count)
                amount.add_metric(labels, total.amount.amount)
            alerts = list(self._payout_alerts(session))
        yield from (messages, count, amount, *alerts)

    def _payout_alerts(self, session: Session) -> Iterator[Metric]:
        """Gauges an alert rule fires on: overdue, contradicted, paused."""
        window = timedelta(minutes=self._runtime.settings.payout_resolve_window_minutes)
        yield GaugeMetricFamily(
            "kazi_payouts_overdue",
            "Payouts sent and still without an outcome after PAYOUT_RESOLVE_WINDOW_MINUTES.",
            value=len(overdue_payouts(session, window=window)),
        )
        yield GaugeMetricFamily(
            "kazi_payouts_contradicted",
            "Payouts the provider contradicted that an operator has not resolved.",
            value=len(open_contradictions(session)),
        )
        paused = GaugeMetricFamily(
            "kazi_payouts_paused",
            "1 while a rail is paused because its provider says our configuration is wrong.",
            labels=["provider"],
        )
        for pause in active_pauses(session):
            paused.add_metric([pause.provider], 1)
        yield paused


class QueueCollector:
    """Jobs waiting in each rq queue (only when Redis is configured)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[Metric]:
        depths = getattr(self._runtime.jobs, "depths", None)
        if depths is None:
            return
        family = GaugeMetricFamily(
            "kazi_queue_depth", "Jobs waiting in each rq queue.", labels=["queue"]
        )
        for name, depth in depths().items():
            family.add_metric([name], depth)
        yield family


def build_registry(runtime: Runtime) -> CollectorRegistry:
    """A registry for one scrape: the database, the queues and the process metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(runtime))
    registry.register(QueueCollector(runtime))
    shared_dir = process_metrics.multiprocess_dir()
    if shared_dir:
        MultiProcessCollector(registry, path=shared_dir)
    else:
        registry.register(_Forward(process_metrics.REGISTRY))
    return registry


class _Forward:
    """Yields another registry's metrics, so one scrape includes both."""

    def __init__(self, source: CollectorRegistry) -> None:
        self._source = source

    def collect(self) -> Iterator[Any]:
        yield from self._source.collect()


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of Kazi's metrics (behind METRICS_TOKEN when it is set)."""
    runtime: Runtime = current_app.extensions["kazi"]
    expected = runtime.settings.metrics_token
    if expected is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not tokens_equal(given.strip(), expected):
            log.warning("metrics: refused a scrape without the right bearer token")
            raise Unauthorized("send METRICS_TOKEN as a bearer token")
    body = generate_latest(build_registry(runtime))
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
