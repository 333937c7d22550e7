"""The intent host carries out every blocking intent the flow engine can ask for."""

from __future__ import annotations

from flows.intents import INTENTS
from kazi.intent_host import IntentHost


def test_every_blocking_intent_has_a_handler_on_the_host() -> None:
    blocking = {kind for kind, cls in INTENTS.items() if cls.blocking}
    handled = {name[4:] for name in dir(IntentHost) if name.startswith("_do_")}
    assert handled == blocking
