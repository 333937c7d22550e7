"""Data protection across the domains: what Kazi holds about a worker, forgetting a worker,
and the retention purge (Kenya Data Protection Act 2019: https://kenyalaw.org/kl/fileadmin/pdfdocuments/Acts/2019/TheDataProtectionAct__No24of2019.pdf).

Forgetting keeps the ledger whole: a worker's accounts and entries are keyed by id, so
the pseudonymised row still owns a balanced history, and the balance is paid out
(``kazi.intent_host`` requests the withdrawal first). Payout rows keep the number they
paid, and the provider's payout callback stays, as financial records the law requires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from core.webhooks import erase_events_mentioning, purge_events
from gateway.privacy import erase_traffic, purge_bodies
from payouts.models import Payout
from payouts.withdrawals import PAYOUT_CURRENCY
from tasks.models import Assignment, AssignmentStatus, WorkRecord
from tasks.reports import worker_earnings
from workers import services as workers
from workers.models import Worker

log = logging.getLogger("kazi.privacy")


def data_summary(session: Session, worker: Worker, now: datetime) -> dict[str, Any]:
    """The ``MYDATA`` facts: number, language, since when, answers, balance, payouts."""
    answers = select(func.count()).where(
        Assignment.worker_id == worker.id, Assignment.status == AssignmentStatus.ANSWERED
    )
    payouts = select(func.count()).where(Payout.worker_id == worker.id)
    balance = worker_earnings(session, worker, now, PAYOUT_CURRENCY).balance
    return {
        "ok": True,
        "phone": worker.msisdn,
        "lang": workers.speaks(worker),
        "since": worker.created_at.date().isoformat(),
        "answers": session.scalar(answers) or 0,
        "balance": {"amount": balance.amount, "currency": balance.currency},
        "payouts": session.scalar(payouts) or 0,
    }


def forget_worker(session: Session, worker: Worker, now: datetime) -> None:
    """Pseudonymise the worker and erase their number and texts from every record of traffic."""
    phone = workers.forget(worker, now)
    session.flush()  # the pseudonym is the worker's before any row is pointed at it
    erased = erase_traffic(session, worker_id=worker.id, phone=phone, pseudonym=worker.msisdn)
    events = erase_events_mentioning(session, phone.lstrip("+"))
    # Work records name no one, but an erased worker's codes must no longer verify.
    session.execute(delete(WorkRecord).where(WorkRecord.worker_id == worker.id))
    log.info("worker %s forgotten: %d traffic rows, %d raw events", worker.id, erased, events)


@dataclass(frozen=True)
class Purged:
    """What one retention run removed."""

    webhook_events: int
    message_bodies: int


def purge_expired(session: Session, settings: Settings, now: datetime) -> Purged:
    """Delete raw callbacks and blank SMS bodies older than their retention settings."""
    events_before = now - timedelta(days=settings.retention_webhook_events_days)
    bodies_before = now - timedelta(days=settings.retention_message_bodies_days)
    return Purged(
        webhook_events=purge_events(session, before=events_before),
        message_bodies=purge_bodies(session, before=bodies_before),
    )
