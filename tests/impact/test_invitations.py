"""SMS invitations to due follow-ups: one per worker per wave, never to who opted out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from core.db import utcnow
from core.kvstore import MemoryStore
from impact.surveys import invite_due_followups
from tests.conftest import RecordingJobQueue, make_settings
from tests.tasks import factories


def test_due_workers_are_invited_once_per_wave(
    session: Session, sent_jobs: RecordingJobQueue
) -> None:
    now = utcnow()
    due = factories.worker(session, registered_at=now - timedelta(days=95))
    factories.worker(session, registered_at=now - timedelta(days=30))  # not due yet
    factories.worker(session, registered_at=now - timedelta(days=95), opted_out_at=now)
    store, settings = MemoryStore(), make_settings()
    assert invite_due_followups(session, store, settings, now) == 1
    assert invite_due_followups(session, store, settings, now) == 0  # the same wave again
    session.commit()
    [job] = sent_jobs.sent
    assert job.func == "workers.jobs.notify" and job.args[:2] == (due.id, "survey.invite_sms")
    # 90 days on: the first worker's 180-day wave, and the second worker's 90-day one.
    later = now + timedelta(days=90)
    assert invite_due_followups(session, store, settings, later) == 2
