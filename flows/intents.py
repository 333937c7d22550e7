"""Intents: what the engine asks the host to do, and how each result routes the flow.

A blocking intent stops the sprint (``waiting_for="intent_result"``); the host runs it
and calls ``resume(state, intent_result=...)``. A fire-and-forget intent (``SendSms``)
rides along with a reply and has no result. Money is ``{"amount": int, "currency": str}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from flows.errors import IntentResultError

TASK_TYPES = ("single_choice", "yes_no", "free_text", "number")
# Longest task the tasks service should hand out; the checker proves these page well.
TASK_TEXT_MAX = 480
TASK_OPTIONS_MAX = 9
OPTION_LABEL_MAX = 30


@dataclass(frozen=True)
class Intent:
    """Base of every intent; ``kind`` is its stable name in definitions and logs."""

    kind: ClassVar[str] = ""
    blocking: ClassVar[bool] = True
    outcomes: ClassVar[tuple[str, ...]] = ("ok", "fail")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the intent's ``type``."""
        return {"type": self.kind, **dataclasses.asdict(self)}

    @classmethod
    def outcome(cls, result: Mapping[str, Any]) -> str:
        """The exit name this result takes."""
        return "ok" if result.get("ok") else "fail"

    @classmethod
    def check_result(cls, result: Mapping[str, Any]) -> None:
        """Raise IntentResultError when the result lacks what the flow needs."""
        if "ok" not in result:
            raise IntentResultError(f"{cls.kind} result needs 'ok'")


@dataclass(frozen=True)
class GetTask(Intent):
    """Reserve the next task (or re-fetch ``task_id`` after a dropped session).

    Result: ``{"task": {"task_id", "text", "task_type", "options": [str], "answers":
    [str]}}`` (``answers``: the project's own option for each label shown, when the labels
    are a translation), or ``{"task": None, "reason": "none_available" | "suspended" |
    "held" | "blocked" | "daily_cap" | "no_language" | "passed" | "failed"}`` (the last
    two end a qualification quiz; the others say why the worker gets no paid task for
    now; "daily_cap" and "no_language" carry ``retry_hours``, when to try again). If
    ``task_id``'s reservation lapsed, return another task.
    """

    kind: ClassVar[str] = "get_task"
    outcomes: ClassVar[tuple[str, ...]] = (
        "task",
        "none",
        "suspended",
        "held",
        "blocked",
        "daily_cap",
        "no_language",
        "passed",
        "failed",
    )
    qualification: bool = False
    task_id: int | None = None
    channel: str = "ussd"

    @classmethod
    def outcome(cls, result: Mapping[str, Any]) -> str:
        if result.get("task"):
            return "task"
        reason = result.get("reason")
        return reason if reason in cls.outcomes and reason != "task" else "none"

    @classmethod
    def check_result(cls, result: Mapping[str, Any]) -> None:
        task = result.get("task")
        if task is None:
            return
        if not isinstance(task, Mapping):
            raise IntentResultError("get_task 'task' must be a dict or None")
        missing = {"task_id", "text", "task_type"} - set(task)
        if missing:
            raise IntentResultError(f"get_task task lacks {sorted(missing)}")
        if task["task_type"] not in TASK_TYPES:
            raise IntentResultError(f"unknown task_type {task['task_type']!r}")
        options = task.get("options") or []
        if task["task_type"] == "single_choice" and not options:
            raise IntentResultError("a single_choice task needs options")
        if not all(isinstance(o, str) and o for o in options):
            raise IntentResultError("task options must be non-empty strings")
        answers = task.get("answers")
        if answers is not None and len(answers) != len(options):
            raise IntentResultError("task answers must match its options one to one")


@dataclass(frozen=True)
class SubmitAnswer(Intent):
    """Record an answer (the host knows when the task was served, so it times it).

    Result: ``{"ok": True, "reward": money | None}`` or ``{"ok": False, "reason":
    "expired" | ...}``; an optional ``"next"`` (a get_task result) saves a round trip.
    """

    kind: ClassVar[str] = "submit_answer"
    outcomes: ClassVar[tuple[str, ...]] = ("ok", "expired", "fail")
    task_id: int = 0
    answer: str = ""
    choice: int | None = None
    qualification: bool = False
    channel: str = "ussd"

    @classmethod
    def outcome(cls, result: Mapping[str, Any]) -> str:
        if result.get("ok"):
            return "ok"
        return "expired" if result.get("reason") == "expired" else "fail"


@dataclass(frozen=True)
class SkipTask(Intent):
    """Release a reserved task so that someone else may take it. Result: ``{"ok": bool}``."""

    kind: ClassVar[str] = "skip_task"
    task_id: int = 0
    qualification: bool = False


@dataclass(frozen=True)
class GetEarnings(Intent):
    """Read the balance and today's work for the earnings screen and withdrawals.

    Result: ``{"ok": True, "balance": money, "today_tasks": int, "today_earned": money,
    "hourly": money | None, "accuracy": float 0..1 | None, "balances": [money],
    "wallets": [wallet], "several": bool, "service": str, "airtime": bool}``: a worker
    has a wallet per currency; ``balances`` are the ones holding money (else the home
    wallet's), ``several`` says more than one does, and each wallet is ``{"balance":
    money, "service": its rail's name, "airtime": whether airtime may be chosen}``.
    ``balance``, ``service`` and ``airtime`` are the one wallet's when only one holds
    money (else the home wallet's).
    """

    kind: ClassVar[str] = "get_earnings"

    @classmethod
    def check_result(cls, result: Mapping[str, Any]) -> None:
        super().check_result(result)
        if result.get("ok") and not isinstance(result.get("balance"), Mapping):
            raise IntentResultError("get_earnings needs 'balance' money")


@dataclass(frozen=True)
class VerifyPin(Intent):
    """Check the worker's PIN; the host counts failures and locks withdrawals.

    Result: ``{"ok": bool, "attempts_left": int, "locked": bool}``.
    """

    kind: ClassVar[str] = "verify_pin"
    outcomes: ClassVar[tuple[str, ...]] = ("ok", "wrong", "locked")
    pin: str = ""

    def to_dict(self) -> dict[str, Any]:
        # The PIN must reach the host but never a log line that prints intents.
        return {"type": self.kind, "pin": self.pin}

    def __repr__(self) -> str:
        return "VerifyPin(pin='****')"

    @classmethod
    def outcome(cls, result: Mapping[str, Any]) -> str:
        if result.get("locked"):
            return "locked"
        return "ok" if result.get("ok") else "wrong"


@dataclass(frozen=True)
class SetPin(Intent):
    """Store a new PIN (the host hashes it). Result: ``{"ok": bool}``."""

    kind: ClassVar[str] = "set_pin"
    pin: str = ""

    def __repr__(self) -> str:
        return "SetPin(pin='****')"


@dataclass(frozen=True)
class RequestPayout(Intent):
    """Queue a withdrawal to mobile money; the outcome reaches the worker by SMS.

    ``currency`` names the wallet (default: the worker's home wallet); ``rail`` is
    "airtime" when the worker chose airtime, else "" for the wallet's mobile money.

    Result: ``{"ok": True}`` or ``{"ok": False, "reason": "below_minimum" (with
    "minimum": money) | "insufficient_funds" | "daily_limit" | "locked" | "pending" |
    other}``.
    """

    kind: ClassVar[str] = "request_payout"
    outcomes: ClassVar[tuple[str, ...]] = (
        "ok",
        "below_minimum",
        "insufficient_funds",
        "daily_limit",
        "locked",
        "pending",
        "fail",
    )
    amount: dict[str, Any] = dataclasses.field(default_factory=dict)
    currency: str | None = None
    rail: str | None = None

    @classmethod
    def outcome(cls, result: Mapping[str, Any]) -> str:
        if result.get("ok"):
            return "ok"
        reason = result.get("reason")
        return reason if reason in cls.outcomes else "fail"


@dataclass(frozen=True)
class SetLanguage(Intent):
    """Save the worker's language. Result: ``{"ok": bool}``."""

    kind: ClassVar[str] = "set_language"
    language: str = "en"


@dataclass(frozen=True)
class RegisterWorker(Intent):
    """Create (idempotently) the worker record for this phone. Result: ``{"ok": bool}``."""

    kind: ClassVar[str] = "register_worker"
    language: str = "en"
    channel: str = "ussd"


@dataclass(frozen=True)
class RecordConsent(Intent):
    """Record that the worker accepted or declined the terms. Result: ``{"ok": bool}``."""

    kind: ClassVar[str] = "record_consent"
    terms_version: str = ""
    accepted: bool = False


@dataclass(frozen=True)
class SendTerms(Intent):
    """Queue the terms to the worker by SMS (a feature phone cannot open a URL).

    Result: ``{"ok": bool}``."""

    kind: ClassVar[str] = "send_terms"


@dataclass(frozen=True)
class SetTaskLanguages(Intent):
    """Save the languages the worker does tasks in: their screen language plus ``add``
    (a language code, or "all"; empty: the screen language alone). Result: ``{"ok": bool}``."""

    kind: ClassVar[str] = "set_task_languages"
    add: str = ""


@dataclass(frozen=True)
class GetMyData(Intent):
    """Summarise what Kazi holds about the worker (the ``MYDATA`` SMS).

    Result: ``{"ok": True, "phone": str, "lang": str, "since": "YYYY-MM-DD",
    "answers": int, "balance": money, "payouts": int}``.
    """

    kind: ClassVar[str] = "get_my_data"


@dataclass(frozen=True)
class GetWorkRecord(Intent):
    """Issue the worker's work record with a new verification code (the ``RECORD`` SMS).

    Result: ``{"ok": True, "tasks": int, "months": int, "accuracy_band": str | None,
    "earned": [money], "code": str, "verify_url": str}``.
    """

    kind: ClassVar[str] = "get_work_record"


@dataclass(frozen=True)
class ForgetMe(Intent):
    """Erase the worker's number and links (after ``verify_pin`` in the same hop), paying
    out the balance first. Result: ``{"ok": bool, "paid": money | None}``."""

    kind: ClassVar[str] = "forget_me"


@dataclass(frozen=True)
class StartSurvey(Intent):
    """Open an impact survey: the ``baseline`` at registration, or a ``followup`` when one
    is due (the host offers a follow-up at most once a day, and only over USSD).

    Result: ``{"ok": True, "wave": int, "fee": money | None, "cur": str, "b1".."b4": str}``
    (the income bands' edges in the worker's currency, whole units) or ``{"ok": False}``.
    """

    kind: ClassVar[str] = "start_survey"
    survey: str = "baseline"


@dataclass(frozen=True)
class SaveSurvey(Intent):
    """Store a survey's answers apart from task answers, with the worker's consent; a
    completed follow-up pays its fee once. Result: ``{"ok": bool, "paid": money | None}``.
    """

    kind: ClassVar[str] = "save_survey"
    survey: str = "baseline"
    wave: int = 0
    consent: bool = False
    source: str | None = None
    band: int | None = None
    hours: int | None = None
    household: int | None = None
    new_work: str | None = None


@dataclass(frozen=True)
class SendSms(Intent):
    """Send an SMS to this worker (fire and forget; already rendered and translated)."""

    kind: ClassVar[str] = "send_sms"
    blocking: ClassVar[bool] = False
    outcomes: ClassVar[tuple[str, ...]] = ()
    text: str = ""


INTENTS: dict[str, type[Intent]] = {
    cls.kind: cls
    for cls in (
        GetTask,
        SubmitAnswer,
        SkipTask,
        GetEarnings,
        VerifyPin,
        SetPin,
        RequestPayout,
        SetLanguage,
        RegisterWorker,
        RecordConsent,
        SendTerms,
        SetTaskLanguages,
        GetMyData,
        GetWorkRecord,
        ForgetMe,
        StartSurvey,
        SaveSurvey,
        SendSms,
    )
}


def intent_from_dict(data: Mapping[str, Any]) -> Intent:
    """Rebuild an intent from ``Intent.to_dict()`` (e.g. after queueing it as JSON)."""
    fields = dict(data)
    return INTENTS[fields.pop("type")](**fields)


def intent_fields(kind: str) -> set[str]:
    """The argument names an intent accepts."""
    return {f.name for f in dataclasses.fields(INTENTS[kind])}
