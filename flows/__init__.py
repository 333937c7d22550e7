"""Kazi's pure flow engine: USSD/SMS journeys as data, run by ``start`` and ``resume``.

The host (the gateway) drives it like this on every USSD hop or inbound SMS:

1. New USSD session: ``start("main", ctx, resume_point=stored_rp_or_None)``; next hops:
   ``resume(state, user_input=last_segment, context=ctx)``. SMS: ``handle_sms(text,
   state_or_None, ctx)`` (STOP/START are recorded by the gateway first).
2. While ``result.waiting_for == "intent_result"``: run ``result.pending`` (in the same
   request, fast) and call ``resume(result.state, intent_result=dict, context=ctx)``.
3. Then reply ``CON``/``END`` by ``continue_session`` with ``reply``; store ``state``;
   store ``resume_point(state)`` per worker (None clears it); send the fire-and-forget
   intents (``SendSms``) after commit; log ``result.error`` when it is set.
4. Before storing or logging what the worker typed, mask secrets: a USSD input given
   while ``awaits_secret(state)`` is a PIN; an SMS is stored as ``mask_sms(text, state)``.

Nothing here does I/O beyond reading the package's own definition and catalog files.
"""

from __future__ import annotations

from flows.check import check_all
from flows.engine import (
    Context,
    SprintResult,
    awaits_secret,
    preview,
    resume,
    resume_point,
    start,
)
from flows.errors import FlowDefinitionError, FlowError, FlowStateError, IntentResultError
from flows.intents import (
    INTENTS,
    GetEarnings,
    GetTask,
    Intent,
    RecordConsent,
    RegisterWorker,
    RequestPayout,
    SendSms,
    SetLanguage,
    SetPin,
    SkipTask,
    SubmitAnswer,
    VerifyPin,
)
from flows.sms import SmsKeyword, handle_sms, mask_sms, parse_sms_keyword
from flows.state import FlowState, ResumePoint

__all__ = [
    "INTENTS",
    "Context",
    "FlowDefinitionError",
    "FlowError",
    "FlowState",
    "FlowStateError",
    "GetEarnings",
    "GetTask",
    "Intent",
    "IntentResultError",
    "RecordConsent",
    "RegisterWorker",
    "RequestPayout",
    "ResumePoint",
    "SendSms",
    "SetLanguage",
    "SetPin",
    "SkipTask",
    "SmsKeyword",
    "SprintResult",
    "SubmitAnswer",
    "VerifyPin",
    "awaits_secret",
    "check_all",
    "handle_sms",
    "mask_sms",
    "parse_sms_keyword",
    "preview",
    "resume",
    "resume_point",
    "start",
]
