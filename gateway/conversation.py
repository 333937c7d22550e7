"""Where USSD hops and SMS meet the flow engine: the gateway's only door into conversations.

Each hop runs in the webhook's (or job's) transaction: load the session state from
the shared store, ``start``/``resume`` the engine, carry out its blocking intents with
the runtime's intent host until it waits for the worker (at most
``MAX_INTENTS_PER_HOP``), queue its SMS (sent after commit), store the new state.

The host (``kazi.intent_host.IntentHost``) runs intents against tasks, payouts and
workers; the wiring package installs it with ``install_host``, so the gateway
reaches the other domains only through it and imports none of them.

State lives in ``runtime.store`` (Redis with a TTL in production, memory in the
embedded default): per provider session for USSD, per worker for SMS, so two USSD
sessions of one worker never share a state. The resume point ("the task in hand")
is kept per worker for as long as the task's reservation lasts, so a redial after a
drop goes straight back to that task.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy.orm import Session

from core.db import utcnow
from core.kvstore import KeyValueStore
from core.runtime import Runtime
from flows import (
    Context,
    FlowState,
    FlowStateError,
    Intent,
    SendSms,
    SprintResult,
    awaits_secret,
    mask_sms,
    resume,
    resume_point,
    start,
)
from flows import handle_sms as engine_sms
from flows.engine import default_library
from flows.i18n import LANGUAGES
from flows.inputs import MASK, USSD_MASK, is_pin
from gateway.inbound import UssdRequest
from gateway.outbound import send_sms
from workers.models import Worker

log = logging.getLogger("kazi.flows")

#: AT ends a USSD session after ~3 minutes; the state outlives it only a little.
USSD_STATE_TTL = timedelta(minutes=10)
#: An SMS conversation (a task waiting for its reply) is remembered for a day.
SMS_STATE_TTL = timedelta(days=1)
#: How long a resume point lasts when the task's own reservation expiry is unknown.
RESUME_TTL = timedelta(minutes=10)
#: Intents carried out between two screens; the engine caps itself too (MAX_CALLS).
MAX_INTENTS_PER_HOP = 25

#: Gateway texts (apology, opt-out and opt-in replies) → catalog keys.
_TEXT_KEYS = {
    "apology": "error.sorry",
    "slow_down": "error.slow_down",
    "stopped": "sms.stop",
    "started": "sms.start",
}


class Host(Protocol):
    """Carries out one hop's blocking intents for one worker (``kazi.intent_host``)."""

    session: Session
    worker: Worker
    runtime: Runtime
    now: datetime
    task_expires_at: datetime | None  # of the last task handed out in this hop

    def context(self) -> Context:
        """The engine context as it stands now (an intent may have changed it)."""
        ...

    def execute(self, intent: Intent) -> dict[str, Any]:
        """The result of one blocking intent, in the shape its flow routes on."""
        ...


class HostFactory(Protocol):
    """Builds the host of one hop."""

    def __call__(
        self, session: Session, worker: Worker, runtime: Runtime, channel: str, now: datetime
    ) -> Host: ...


_HOST = "gateway.intent_host"


def install_host(runtime: Runtime, factory: HostFactory) -> None:
    """Make ``factory`` build the intent host of this runtime's hops (the wiring calls this)."""
    runtime.extras[_HOST] = factory


def _host(session: Session, worker: Worker, runtime: Runtime, channel: str) -> Host:
    factory = runtime.extras.get(_HOST)
    if factory is None:
        raise RuntimeError("no intent host installed: build the runtime through kazi.app")
    return cast(HostFactory, factory)(session, worker, runtime, channel, utcnow())


def text_for(key: str, language: str | None) -> str:
    """A gateway text (``apology``, ``slow_down``, ``stopped``, ``started``) in the worker's language."""
    lang = language if language in LANGUAGES else "en"
    return default_library().catalogs.text(_TEXT_KEYS[key], lang, {})


@dataclass(frozen=True)
class UssdTurn:
    """One hop's answer, and the hop's input as it may be stored (secrets masked)."""

    text: str
    more: bool  # whether the session continues (CON) or ends (END)
    shown_input: str
    node: str | None = None  # the flow step shown, "flow.node" (None when unknown)


def handle_ussd(
    session: Session, request: UssdRequest, new_input: str, *, worker: Worker, runtime: Runtime
) -> UssdTurn:
    """Answer one USSD hop, and say how its input may be stored.

    The input stays in clear only when a screen the engine knows is not secret read it;
    an answer to a PIN screen, or input no screen read, is masked.
    """
    host = _host(session, worker, runtime, "ussd")
    key = f"flows:ussd:{request.provider}:{request.session_id}"
    state = _load(runtime.store, key)
    result = None
    shown = USSD_MASK if new_input else ""
    if state is not None and state.get("awaiting") == "input":
        secret = awaits_secret(state)
        try:
            result = _settle(host, resume(state, user_input=new_input, context=host.context()))
            shown = USSD_MASK if secret else new_input
        except FlowStateError:
            log.warning("ussd session %s: unusable state, starting over", request.session_id)
    if result is None:
        result = _begin(host, runtime.store)
        if state is None and new_input:
            # A first dial may carry input already (*384*12*1#): feed it screen by screen.
            shown_parts = []
            for part in new_input.split("*"):
                if result.waiting_for != "input":
                    shown_parts.append(USSD_MASK)
                    continue
                shown_parts.append(USSD_MASK if awaits_secret(result.state) else part)
                resumed = resume(result.state, user_input=part, context=host.context())
                result = _settle(host, resumed)
            shown = "*".join(shown_parts)
    _save(runtime.store, key, result, USSD_STATE_TTL)
    _keep_resume_point(host, result)
    return UssdTurn(result.reply, result.continue_session, shown, step_of(result.state))


def step_of(state: FlowState | dict[str, Any] | None) -> str | None:
    """The engine's step a state stands on, as ``flow.node`` (what analytics group by)."""
    if not state or not state.get("flow") or not state.get("node"):
        return None
    return f"{state['flow']}.{state['node']}"[:80]


def masked_sms(store: KeyValueStore, phone: str, text: str) -> str:
    """An inbound SMS as it may be stored: its PIN masked, judged by the worker's SMS
    conversation as it stands (a PIN screen waiting means the whole text is the PIN).

    With the store unreachable the conversation is unknown: a text shaped like a PIN
    is masked whole, since a PIN must never reach a row (its handling then fails the PIN
    check safely and the worker sends it again), and the SMS is still stored.
    """
    try:
        state = _load(store, _sms_key(phone))
    except Exception:  # noqa: BLE001 - any store failure: judge without the conversation
        log.warning("sms from %s: store unavailable, masked without its conversation", phone)
        return MASK if is_pin(text.strip()) else mask_sms(text, None)
    return mask_sms(text, state)


def _sms_key(phone: str) -> str:
    return f"flows:sms:{phone}"


def handle_sms(session: Session, text: str, *, worker: Worker, runtime: Runtime) -> str | None:
    """The reply to a worker's SMS (STOP/START are handled before this), or None."""
    host = _host(session, worker, runtime, "sms")
    key = _sms_key(worker.msisdn)
    state = _load(runtime.store, key)
    try:
        result = engine_sms(text, state, host.context())
    except FlowStateError:
        log.warning("sms conversation of worker %s: unusable state, starting over", worker.id)
        result = engine_sms(text, None, host.context())
    result = _settle(host, result)
    _save(runtime.store, key, result, SMS_STATE_TTL)
    _keep_resume_point(host, result)
    return result.reply or None


def _begin(host: Host, store: KeyValueStore) -> SprintResult:
    """A new session: back to the task in hand when there is one, else the main flow."""
    point = _load(store, _rp_key(host.worker.id))
    try:
        return _settle(host, start("main", host.context(), resume_point=point))
    except FlowStateError:
        # A resume point from an older definition: the main menu is always a safe start.
        log.info("worker %s: stale resume point %s dropped", host.worker.id, point)
        return _settle(host, start("main", host.context()))


def _settle(host: Host, result: SprintResult) -> SprintResult:
    """Carry out intents until the engine waits for the worker or ends."""
    for _ in range(MAX_INTENTS_PER_HOP):
        for intent in result.intents:
            if isinstance(intent, SendSms):
                _send(host, intent)
        if result.error:
            log.error("flow %s ended with an apology: %s", result.state.get("flow"), result.error)
        pending = result.pending
        if result.waiting_for != "intent_result" or pending is None:
            return result
        outcome = host.execute(pending)
        result = resume(result.state, intent_result=outcome, context=host.context())
    log.error("worker %s: more than %d intents in one hop", host.worker.id, MAX_INTENTS_PER_HOP)
    state: FlowState = {**result.state, "awaiting": None}
    return SprintResult(text_for("apology", host.context().language), False, [], state, None)


def _send(host: Host, intent: SendSms) -> None:
    """Queue a fire-and-forget SMS; the job runs only after the hop commits."""
    send_sms(
        host.session,
        phone=host.worker.msisdn,
        body=intent.text,
        provider=host.runtime.settings.sms_provider,
        worker_id=host.worker.id,
    )


def _load(store: KeyValueStore, key: str) -> dict[str, Any] | None:
    raw = store.get(key)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _save(store: KeyValueStore, key: str, result: SprintResult, ttl: timedelta) -> None:
    if result.waiting_for == "input":
        store.set(key, json.dumps(result.state).encode(), ttl_seconds=ttl.total_seconds())
    else:
        store.delete(key)


def _rp_key(worker_id: int) -> str:
    return f"flows:resume:{worker_id}"


def _keep_resume_point(host: Host, result: SprintResult) -> None:
    """Remember the task in hand for a redial (for as long as it is reserved), or forget it."""
    store, key = host.runtime.store, _rp_key(host.worker.id)
    point = resume_point(result.state)
    if point is None:
        store.delete(key)
        return
    if host.task_expires_at is None:
        if _load(store, key) != point:  # the same point keeps its reservation's TTL
            store.set(key, json.dumps(point).encode(), ttl_seconds=RESUME_TTL.total_seconds())
        return
    ttl = _until(host.task_expires_at, host.now)
    if ttl <= timedelta(0):
        store.delete(key)
        return
    store.set(key, json.dumps(point).encode(), ttl_seconds=ttl.total_seconds())


def _until(moment: datetime, now: datetime) -> timedelta:
    # SQLite hands back naive datetimes (stored as UTC); compare like with like.
    if moment.tzinfo is None and now.tzinfo is not None:
        now = now.replace(tzinfo=None)
    return moment - now
