"""Sessions: drop and resume, JSON state, runaway definitions, bad results, bad state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows import Context, FlowStateError, GetTask, resume, resume_point, start
from flows.definitions import Library
from flows.engine import MAX_CALLS, MAX_STEPS, default_library
from tests.flows.world import Phone, World, registered_world

DEFS = Path(__file__).parent / "defs"


def t(key: str, lang: str) -> str:
    return default_library().catalogs.text(key, lang, {})


def test_a_dropped_task_resumes_on_redial() -> None:
    world = registered_world(language="sw")
    phone = Phone(world)
    phone.dial()
    phone.send("1")
    point = resume_point(phone.state)
    assert point == {"flow": "task", "node": "fetch", "task_id": 100}
    json.dumps(point)
    # The session drops here; the gateway kept `point` for this worker.
    redial = Phone(world)
    screen = redial.dial(resume_point=point)
    assert world.log[-1] == GetTask(task_id=100, channel="ussd")
    assert screen.startswith(t("task.resumed", "sw")) and "Is review 0 positive?" in screen
    redial.send("1")
    assert world.answers == [(100, "Positive")]
    next_point = resume_point(redial.state)
    assert next_point is not None and next_point["task_id"] == 101


def test_a_lapsed_reservation_resumes_with_whatever_the_host_gives() -> None:
    world = registered_world()
    phone = Phone(world)
    phone.dial()
    phone.send("1")
    point = resume_point(phone.state)
    world.reserved = None  # the reservation window passed; task 100 went to someone else
    screen = Phone(world).dial(resume_point=point)
    assert "review 1" in screen


def test_a_dropped_quiz_resumes_in_the_quiz() -> None:
    world = World(registered=True, pin="4821")
    phone = Phone(world)
    phone.dial()
    point = resume_point(phone.state)
    assert point == {"flow": "quiz", "node": "fetch", "task_id": 1}
    assert "Is Nairobi" in Phone(world).dial(resume_point=point)
    assert world.log[-1] == GetTask(qualification=True, task_id=1, channel="ussd")


def test_no_resume_point_away_from_a_task() -> None:
    phone = Phone(registered_world())
    phone.dial()
    assert resume_point(phone.state) is None
    phone.send("1")
    assert resume_point(phone.state) is not None
    phone.send("00")
    assert resume_point(phone.state) is None


def test_a_resume_point_must_name_a_task_fetch() -> None:
    with pytest.raises(FlowStateError):
        start("task", Context(), resume_point={"flow": "task", "node": "task", "task_id": 1})


def test_state_is_plain_json_between_every_hop() -> None:
    phone = Phone(registered_world(balance=2500))
    phone.dial()
    for text in ["1", "2", "0", "00", "2", "0", "3", "2", "20", "4821"]:
        phone.send(text)
        assert json.loads(json.dumps(phone.result.state)) == phone.result.state
    assert phone.ended


def test_a_looping_definition_stops_at_the_step_cap() -> None:
    library = Library.load(DEFS / "loop")
    result = start("loop", Context(language="fr"), library=library)
    assert result.error == "step_limit" and not result.continue_session
    assert result.reply == t("error.sorry", "fr") and result.waiting_for is None
    assert MAX_STEPS == 100


def test_a_definition_calling_the_host_in_a_loop_is_stopped() -> None:
    library = Library.load(DEFS / "call_loop")
    result = start("call_loop", Context(), library=library)
    hops = 0
    while result.waiting_for == "intent_result":
        hops += 1
        state = json.loads(json.dumps(result.state))
        result = resume(
            state,
            intent_result={"ok": True, "balance": {"amount": 1}},
            context=Context(),
            library=library,
        )
    assert result.error == "intent_limit" and hops == MAX_CALLS


@pytest.mark.parametrize(
    "bad_result",
    [
        {"task": {"task_id": 1}},
        {"task": {"task_id": 1, "text": "x", "task_type": "essay"}},
        {"task": {"task_id": 1, "text": "x", "task_type": "single_choice", "options": []}},
        {"task": "soon"},
        ["not", "a", "dict"],
    ],
)
def test_a_malformed_intent_result_ends_with_an_apology(bad_result: object) -> None:
    ctx = Context(language="sw", registered=True, qualified=True)
    result = start("task", ctx)
    assert result.pending == GetTask(channel="ussd")
    result = resume(result.state, intent_result=bad_result, context=ctx)
    assert result.reply == t("error.sorry", "sw") and not result.continue_session
    assert result.error


def test_a_result_without_ok_is_refused() -> None:
    ctx = Context(registered=True, qualified=True)
    result = start("earnings", ctx)
    result = resume(result.state, intent_result={"balance": None}, context=ctx)
    assert result.error and "ok" in result.error


@pytest.mark.parametrize(
    ("mutate", "kwargs"),
    [
        (lambda s: s.update(v=99), {"user_input": "1"}),
        (lambda s: s.update(flow="gone"), {"user_input": "1"}),
        (lambda s: s.update(node="gone"), {"user_input": "1"}),
        (lambda s: None, {"intent_result": {"ok": True}}),  # waits for input
        (lambda s: None, {}),  # neither input nor result
        (lambda s: s.update(awaiting=None), {"user_input": "1"}),  # ended
    ],
)
def test_resume_refuses_a_state_it_cannot_continue(mutate, kwargs) -> None:
    state = start("menu", Context()).state
    mutate(state)
    with pytest.raises(FlowStateError):
        resume(state, context=Context(), **kwargs)


def test_resume_refuses_input_while_an_intent_is_pending() -> None:
    state = start("task", Context()).state
    with pytest.raises(FlowStateError):
        resume(state, user_input="1", context=Context())


def test_an_unknown_language_falls_back_to_english() -> None:
    assert start("menu", Context(language="de")).reply.startswith("Kazi: paid short tasks")


class PrefetchingWorld(World):
    """A host whose submit result already carries the next task (one round trip less)."""

    def do_submit_answer(self, i: Any) -> dict[str, Any]:
        result = super().do_submit_answer(i)
        return {**result, "next": self.do_get_task(GetTask())}


def test_a_submit_result_may_carry_the_next_task() -> None:
    world = PrefetchingWorld(registered=True, qualified=True, pin="4821")
    phone = Phone(world)
    phone.dial()
    phone.send("1")
    before = len([i for i in world.log if isinstance(i, GetTask)])
    assert "review 1" in phone.send("2")
    assert len([i for i in world.log if isinstance(i, GetTask)]) == before
    assert resume_point(phone.state) == {"flow": "task", "node": "fetch", "task_id": 101}


@pytest.mark.parametrize(
    ("inputs", "last_reply_starts"),
    [
        (["0"], "Weka namba kati ya 1 na 10."),
        (["11"], "Weka namba kati ya 1 na 10."),
        (["x"], "Weka namba kati ya 1 na 10."),
        (["10", "*"], "Tafadhali andika jibu fupi (bila * au #)."),
        (["10", "0"], "Kazi: kazi fupi za malipo"),  # back to the number screen
        (["3", "  Mama   Njeri "], "Lugha imehifadhiwa."),
    ],
)
def test_number_and_text_inputs(inputs: list[str], last_reply_starts: str) -> None:
    library = Library.load(DEFS / "fields")
    ctx = Context(language="sw")
    result = start("fields", ctx, library=library)
    for text in inputs:
        result = resume(result.state, user_input=text, context=ctx, library=library)
    assert result.reply.startswith(last_reply_starts)
    if not result.continue_session:
        assert result.state["vars"] == {"n": 3, "name": "Mama Njeri"}
