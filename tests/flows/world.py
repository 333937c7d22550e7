"""A fake host for flow tests: an in-memory world that carries out intents, and a phone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.medium import sms_segments
from flows import Context, SprintResult, handle_sms, resume, start
from flows.intents import Intent, SendSms
from flows.render import SMS_MAX_SEGMENTS, USSD_LIMIT

REWARD: dict[str, Any] = {"amount": 150, "currency": "KES"}
MIN_PAYOUT = 1000  # KES 10, Daraja's minimum


def kes(minor: int) -> dict[str, Any]:
    return {"amount": minor, "currency": "KES"}


def make_tasks(n: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "task_id": 100 + i,
            "text": f"Is review {i} positive? 'The food was good'",
            "task_type": "single_choice",
            "options": ["Positive", "Negative", "Neutral"],
        }
        for i in range(n)
    ]


GOLD = [
    {"task_id": 1, "text": "Is Nairobi in Kenya?", "task_type": "yes_no", "options": []},
    {"task_id": 2, "text": "How many legs has a cow?", "task_type": "number", "options": []},
]
GOLD_ANSWERS = {1: "yes", 2: "4"}


@dataclass
class World:
    """One worker, a queue of tasks, a balance: what the services would hold."""

    language: str = "en"
    registered: bool = False
    qualified: bool = False
    pin: str | None = None
    balance: int = 0
    tasks: list[dict[str, Any]] = field(default_factory=make_tasks)
    gold: list[dict[str, Any]] = field(default_factory=lambda: list(GOLD))
    gold_correct: int = 0
    pin_failures: int = 0
    reserved: dict[str, Any] | None = None
    answers: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    payouts: list[int] = field(default_factory=list)
    consent: bool | None = None
    task_languages: str | None = None  # what the worker added to the screen language
    terms_sent: int = 0
    #: The impact survey the host would open ("baseline" at registration, a follow-up
    #: wave due on a dial), and what the worker answered.
    baseline_open: bool = False
    followup_due: int | None = None
    surveys: list[Any] = field(default_factory=list)
    sms_out: list[str] = field(default_factory=list)
    log: list[Intent] = field(default_factory=list)

    def execute(self, intent: Intent) -> dict[str, Any]:
        self.log.append(intent)
        return getattr(self, f"do_{intent.kind}")(intent)

    def do_register_worker(self, i: Any) -> dict[str, Any]:
        self.language = i.language
        return {"ok": True}

    def do_record_consent(self, i: Any) -> dict[str, Any]:
        self.consent = i.accepted
        return {"ok": True}

    def do_set_task_languages(self, i: Any) -> dict[str, Any]:
        self.task_languages = i.add
        return {"ok": True}

    def do_send_terms(self, i: Any) -> dict[str, Any]:
        self.terms_sent += 1
        return {"ok": True}

    def do_set_pin(self, i: Any) -> dict[str, Any]:
        self.pin, self.registered = i.pin, True
        return {"ok": True}

    def do_set_language(self, i: Any) -> dict[str, Any]:
        self.language = i.language
        return {"ok": True}

    def do_get_task(self, i: Any) -> dict[str, Any]:
        if i.task_id is not None and self.reserved and self.reserved["task_id"] == i.task_id:
            return {"task": self.reserved}
        queue = self.gold if i.qualification else self.tasks
        if not queue:
            if i.qualification:
                self.qualified = self.gold_correct == len(GOLD)
                return {"task": None, "reason": "passed" if self.qualified else "failed"}
            return {"task": None, "reason": "none_available"}
        self.reserved = queue.pop(0)
        return {"task": self.reserved}

    def do_submit_answer(self, i: Any) -> dict[str, Any]:
        self.answers.append((i.task_id, i.answer))
        self.reserved = None
        if i.qualification:
            self.gold_correct += GOLD_ANSWERS.get(i.task_id) == i.answer
            return {"ok": True, "reward": None}
        self.balance += REWARD["amount"]
        return {"ok": True, "reward": REWARD}

    def do_skip_task(self, i: Any) -> dict[str, Any]:
        self.skipped.append(i.task_id)
        self.reserved = None
        return {"ok": True}

    def do_get_earnings(self, i: Any) -> dict[str, Any]:
        done = len([a for a in self.answers if a[0] >= 100])
        return {
            "ok": True,
            "balance": kes(self.balance),
            "today_tasks": done,
            "today_earned": kes(done * REWARD["amount"]),
            "hourly": kes(12000),
            "accuracy": 0.9,
        }

    def do_verify_pin(self, i: Any) -> dict[str, Any]:
        if self.pin_failures >= 3:
            return {"ok": False, "attempts_left": 0, "locked": True}
        if i.pin == self.pin:
            self.pin_failures = 0
            return {"ok": True, "attempts_left": 3, "locked": False}
        self.pin_failures += 1
        left = 3 - self.pin_failures
        return {"ok": False, "attempts_left": left, "locked": left == 0}

    def do_start_survey(self, i: Any) -> dict[str, Any]:
        wave = 0 if i.survey == "baseline" and self.baseline_open else None
        if i.survey == "followup":
            wave, self.followup_due = self.followup_due, None  # offered once
        if wave is None:
            return {"ok": False}
        bands = {"cur": "KES", "b1": "2,000", "b2": "5,000", "b3": "10,000", "b4": "20,000"}
        return {"ok": True, "wave": wave, "fee": kes(2000) if wave else None, **bands}

    def do_save_survey(self, i: Any) -> dict[str, Any]:
        self.surveys.append(i)
        return {"ok": True, "paid": kes(2000) if i.survey == "followup" else None}

    def do_request_payout(self, i: Any) -> dict[str, Any]:
        amount = i.amount["amount"]
        if amount < MIN_PAYOUT:
            return {"ok": False, "reason": "below_minimum", "minimum": kes(MIN_PAYOUT)}
        if amount > self.balance:
            return {"ok": False, "reason": "insufficient_funds"}
        self.balance -= amount
        self.payouts.append(amount)
        return {"ok": True}


class Phone:
    """Drives the engine like the gateway would: hop by hop, state through JSON."""

    def __init__(self, world: World, channel: str = "ussd") -> None:
        self.world, self.channel = world, channel
        self._state: dict[str, Any] | None = None  # None until the first hop
        self._result: SprintResult | None = None
        self.screens: list[str] = []

    @property
    def state(self) -> dict[str, Any]:
        """The state stored after the last hop, as the gateway's JSON store returns it."""
        assert self._state is not None, "no hop yet"
        return self._state

    @property
    def result(self) -> SprintResult:
        """The engine's answer to the last hop."""
        assert self._result is not None, "no hop yet"
        return self._result

    def context(self) -> Context:
        w = self.world
        return Context(
            channel=self.channel,
            language=w.language,
            registered=w.registered,
            qualified=w.qualified,
        )

    def _settle(self, result: SprintResult) -> str:
        while True:
            for intent in result.intents:
                if not intent.blocking:
                    assert isinstance(intent, SendSms)  # the one fire-and-forget intent
                    self.world.log.append(intent)
                    self.world.sms_out.append(intent.text)
            state = json.loads(json.dumps(result.state))  # the store is JSON
            assert state == result.state
            if result.waiting_for != "intent_result":
                break
            assert result.reply == ""
            assert result.pending is not None
            outcome = self.world.execute(result.pending)
            result = resume(state, intent_result=outcome, context=self.context())
        self._state, self._result = state, result
        self.screens.append(result.reply)
        assert result.reply.strip(), "a worker never sees a blank screen"
        if self.channel == "ussd":
            assert len(result.reply) <= USSD_LIMIT, result.reply
        else:
            assert sms_segments(result.reply) <= SMS_MAX_SEGMENTS, result.reply
        return result.reply

    def dial(self, flow: str = "main", **kwargs: Any) -> str:
        self._state = None
        return self._settle(start(flow, self.context(), **kwargs))

    def send(self, text: str) -> str:
        if self.channel == "sms":
            return self._settle(handle_sms(text, self._state, self.context()))
        assert self._result and self._result.continue_session
        return self._settle(resume(self.state, user_input=text, context=self.context()))

    @property
    def ended(self) -> bool:
        return not self.result.continue_session


def registered_world(**kwargs: Any) -> World:
    return World(registered=True, qualified=True, pin="4821", **kwargs)
