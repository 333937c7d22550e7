"""Requester API fixtures: an app on a real database and a requester's API key."""

from __future__ import annotations

from typing import Any

import pytest

from core.money import Money
from tasks.requesters import create_requester
from tests.tasks.factories import fund

#: What a test requester has deposited: ten times the sample project's budget.
FUNDING = Money(5_000_000, "KES")


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def new_key(app: Any, name: str = "Acme", funding: Money | None = FUNDING) -> str:
    """Create a requester through the service, fund it by a deposit, and return its API key."""
    with app.extensions["kazi"].sessions.begin() as session:
        requester, key = create_requester(session, name)
        if funding is not None:
            fund(session, requester.id, funding)
    return key


@pytest.fixture
def key(app: Any) -> str:
    return new_key(app)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


PROJECT: dict[str, Any] = {
    "name": "Shop reviews",
    "task_type": "single_choice",
    "instructions": "Is this review positive?",
    "options": ["Positive", "Negative", "Neutral"],
    "reward": {"amount": 150, "currency": "KES"},
    "answers_per_task": 3,
    "gold_rate": 0.1,
    "min_accuracy": 0.7,
    "languages": ["en", "sw"],
    "countries": ["KE"],
    "budget": {"amount": 500000, "currency": "KES"},
    "priority": 0,
}
