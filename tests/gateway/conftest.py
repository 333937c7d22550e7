"""Fixtures of the gateway's web tests: the app on a real database, with or without a demo world."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.gateway.journeys import GOLD, REWARD, TASKS
from tests.gateway.web import close_app, gateway_app, runtime_of
from tests.tasks import factories


@pytest.fixture
def kazi(committed_url: str) -> Iterator[Flask]:
    """The app (AT token set, instant sandbox payouts) with one project of tasks and gold."""
    app = gateway_app(committed_url, payout_sandbox_delay_seconds=0.0)
    with runtime_of(app).sessions.begin() as session:
        owner, _ = factories.requester(session)
        # Gold in its own, lower-priority project: the tasks service serves gold early
        # in a project, and these journeys want to know which task comes first.
        common: dict[str, Any] = {"reward": REWARD, "languages": ["en", "sw", "fr"]}
        factories.project(session, owner, texts=TASKS, priority=1, **common)
        factories.project(session, owner, name="Quiz", gold=GOLD, **common)
    yield app
    close_app(app)


@pytest.fixture
def web(committed_url: str) -> Iterator[Flask]:
    """The app from the factory with the gateway's test settings (AT token, Twilio token)."""
    flask_app = gateway_app(committed_url)
    yield flask_app
    close_app(flask_app)
