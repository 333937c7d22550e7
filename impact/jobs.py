"""rq entry points of the impact domain."""

from __future__ import annotations

import logging

from core.db import utcnow
from core.runtime import current
from impact.surveys import invite_due_followups

log = logging.getLogger("kazi.impact.jobs")


def invite_followups() -> None:
    """Invite by SMS every worker whose follow-up survey is due (run daily; idempotent)."""
    runtime = current()
    with runtime.sessions.begin() as session:
        invited = invite_due_followups(session, runtime.store, runtime.settings, utcnow())
    log.info("impact: %d follow-up invitations queued", invited)
