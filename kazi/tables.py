"""The table registry: every table of Kazi, imported in one place so Alembic and tests see the
whole schema."""

from __future__ import annotations

from console.models import AuditEntry, Operator
from core.db import Base
from core.dbstore import KvEntry
from core.journal import JournalledJob
from core.webhooks import WebhookEvent
from gateway.models import HeldDeliveryReport, Message, UssdSession
from impact.models import SurveyResponse
from ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from payouts.models import Payout, RailPause, StatementImport
from tasks.models import (  # noqa: F401
    Assignment,
    IdempotencyKey,
    Project,
    Requester,
    ResultSnapshot,
    Task,
    WorkerProjectStats,
    WorkRecord,
)
from workers.models import Centre, Worker

__all__ = [
    "Assignment",
    "AuditEntry",
    "Base",
    "Centre",
    "HeldDeliveryReport",
    "JournalledJob",
    "KvEntry",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Message",
    "Operator",
    "Payout",
    "Project",
    "RailPause",
    "Requester",
    "StatementImport",
    "SurveyResponse",
    "Task",
    "UssdSession",
    "WebhookEvent",
    "Worker",
    "WorkRecord",
]
