"""PIN inputs are marked secret in the definitions, and the host learns from the engine what to mask."""

from __future__ import annotations

from typing import Any

import pytest

from flows import Context, awaits_secret, mask_sms, resume, start
from flows.check import check_all
from flows.engine import default_library
from tests.flows.test_check import DEFS

REGISTERED = Context(registered=True, qualified=True)


def test_a_pin_input_without_the_secret_flag_is_a_definition_error() -> None:
    problems = check_all(DEFS / "unmarked_pin")
    assert any("node 'pin': a PIN input must be marked secret = true" in p for p in problems)


def test_every_pin_input_shipped_is_secret() -> None:
    pins = [
        node
        for flow in default_library().flows.values()
        for node in flow.nodes.values()
        if node.type == "input" and node.attrs.get("kind") in ("pin", "new_pin")
    ]
    assert len(pins) == 3 and all(node.secret for node in pins)


def _to_withdraw_pin() -> dict[str, Any]:
    """The withdraw flow on its PIN screen (the balance offered, "all" chosen)."""
    result = start("withdraw", REGISTERED)
    balance = {"amount": 5_000, "currency": "KES"}
    result = resume(
        result.state,
        intent_result={
            "ok": True,
            "balance": balance,
            "today_tasks": 0,
            "today_earned": balance,
            "hourly": balance,
            "accuracy": None,
        },
        context=REGISTERED,
    )
    assert result.state["node"] == "offer"
    result = resume(result.state, user_input="1", context=REGISTERED)
    assert result.state["node"] == "pin"
    return dict(result.state)


def test_awaits_secret_is_true_on_a_pin_screen_only() -> None:
    state = _to_withdraw_pin()
    assert awaits_secret(state)
    assert not awaits_secret({**state, "node": "offer"})
    assert not awaits_secret({**state, "awaiting": None})
    assert not awaits_secret(None)
    assert not awaits_secret({**state, "flow": "no_such_flow"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PAY 10 4821", "PAY 10 ****"),
        ("pay 10   4821", "pay 10 ****"),
        ("TOA 50 4821", "TOA 50 ****"),
        ("PAY 4821", "PAY ****"),  # the amount forgotten: the PIN may be any word
        ("PAY 10 48 21", "PAY **** **** ****"),
        ("PAY", "PAY"),
        ("DELETE 4821", "DELETE ****"),  # the right to be forgotten, confirmed by PIN
        ("futa 4821", "futa ****"),
        ("SUPPRIMER 48 21", "SUPPRIMER **** ****"),
        ("BAL", "BAL"),
        ("4821", "4821"),  # an answer to a screen that is not secret
        ("task is hard", "task is hard"),
    ],
)
def test_mask_sms_without_a_secret_screen(text: str, expected: str) -> None:
    assert mask_sms(text, None) == expected


def test_mask_sms_masks_the_whole_answer_to_a_pin_screen() -> None:
    state = _to_withdraw_pin()
    assert mask_sms("4821", state) == "****"
    assert mask_sms("PAY 10 4821", state) == "PAY 10 ****"  # a keyword starts over
    assert mask_sms("4821", {**state, "node": "offer"}) == "4821"
