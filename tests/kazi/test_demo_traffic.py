"""The demo's first traffic: after `flask demo` with CONSOLE_SMS_REPORTS the dashboard has
sessions, SMS with costs, and delivery reports that came through the webhook."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.webhooks import WebhookEvent
from gateway.models import Direction, Message, UssdSession
from gateway.providers.console import DEMO_FAILURES, demo_report
from kazi.app import create_app
from tests.conftest import fresh_database_url, make_settings


@pytest.fixture
def demo_app(db_kind: str, tmp_path: Path) -> Iterator[Flask]:
    url = fresh_database_url(db_kind, tmp_path, "demo")
    app = create_app(make_settings(database_url=url, console_sms_reports=True))
    yield app
    app.extensions["kazi"].engine.dispose()


def _run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_reports_mostly_deliver_and_some_fail_with_at_reasons() -> None:
    forms = [demo_report(f"console-{i}", "+254711000001", "KE") for i in range(2000)]
    statuses = Counter(f["status"] for f in forms)
    reasons = {f.get("failureReason") for f in forms} - {None}
    assert 0.85 < statuses["Success"] / len(forms) < 0.95
    assert reasons == {reason for _, _, reason in DEMO_FAILURES}
    assert {f["networkCode"] for f in forms} == {"63902", "63903"}
    assert demo_report("console-7", "+254711000001", "KE") == forms[7]  # reproducible


def test_flask_demo_fills_the_dashboard_through_the_real_webhooks(demo_app: Flask) -> None:
    _run(demo_app, "db", "upgrade")
    assert "demo traffic:" in _run(demo_app, "demo")
    with demo_app.extensions["kazi"].sessions() as session:
        outbound = session.scalars(
            select(Message).where(Message.direction == Direction.OUTBOUND)
        ).all()
        ended = session.scalar(
            select(func.count(UssdSession.id)).where(UssdSession.end_status.is_not(None))
        )
        reports = session.scalar(
            select(func.count(WebhookEvent.id)).where(WebhookEvent.kind == "delivery")
        )
    statuses = Counter(m.status for m in outbound)
    assert len(outbound) >= 10 and statuses["delivered"] > len(outbound) / 2
    assert not statuses["accepted"]  # every message got its report
    assert reports == len(outbound)  # each through the webhook, recorded as a raw event
    kenyan = [m for m in outbound if m.phone.startswith("+254")]
    assert kenyan and all(m.cost_currency == "KES" and m.cost_minor for m in kenyan)
    assert all(m.network_code for m in kenyan)
    assert ended and ended >= 10
    again = _run(demo_app, "demo")  # the traffic plays once
    assert "demo traffic:" not in again
