"""The shape of the JSON-ready state a flow session keeps between hops (``flows.engine``)."""

from __future__ import annotations

from typing import Any, TypedDict


class ResumePoint(TypedDict):
    """Where 'the task in hand' picks up after a drop."""

    flow: str
    node: str | None
    task_id: int | None


class FlowState(TypedDict, total=False):
    """A session's state. A running session has every key; an ended one may keep only a few
    (an SMS notice stores ``{"v", "awaiting"}``), and a screen preview has no counters."""

    v: int  # flows.engine.STATE_VERSION: a state from another version is refused
    flow: str
    node: str
    lang: str
    vars: dict[str, Any]  # the flow's variables: whatever the definitions and intents set
    flash: list[str]  # catalog keys of notices shown above the next screen
    error: list[Any] | None  # [catalog key, values] of the last bad input (a JSON pair)
    page: int
    retries: int
    awaiting: str | None  # "input", "intent_result", or None once the session ended
    rp: ResumePoint | None
    calls: int  # intents run since the last input
