"""Kazi's pure flow engine: USSD/SMS journeys as data, run by ``start`` and ``resume``.

The host (the gateway) stores ``SprintResult.state``, carries out ``intents`` after
commit, and feeds blocking intents' results back with ``resume``. Nothing here does
I/O beyond reading the package's own definition and catalog files.
"""

from __future__ import annotations

from flows.check import check_all
from flows.engine import Context, SprintResult, preview, resume, resume_point, start
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
from flows.sms import SmsKeyword, handle_sms, parse_sms_keyword

__all__ = [
    "INTENTS",
    "Context",
    "FlowDefinitionError",
    "FlowError",
    "FlowStateError",
    "GetEarnings",
    "GetTask",
    "Intent",
    "IntentResultError",
    "RecordConsent",
    "RegisterWorker",
    "RequestPayout",
    "SendSms",
    "SetLanguage",
    "SetPin",
    "SkipTask",
    "SmsKeyword",
    "SprintResult",
    "SubmitAnswer",
    "VerifyPin",
    "check_all",
    "handle_sms",
    "parse_sms_keyword",
    "preview",
    "resume",
    "resume_point",
    "start",
]
