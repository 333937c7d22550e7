"""Background jobs of the tasks domain: reservation expiry, results refresh, reweighing,
completion webhooks.

Thin functions taking ids: each opens its own session, loads by id and calls a
service. A webhook that fails raises, so rq's ``Retry`` runs it again with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import requests
from sqlalchemy.orm import Session

from core import egress
from core.db import utcnow
from core.egress import AllowList, EgressRefused
from core.jobs import enqueue_next_tick
from core.runtime import current
from tasks import assignment, discounting, review, snapshots
from tasks.models import Project, Task, TaskStatus
from tasks.progress import webhook_url_of

log = logging.getLogger("kazi.tasks.jobs")

SIGNATURE_HEADER = "X-Kazi-Signature"
WEBHOOK_TIMEOUT_SECONDS = 10


#: Reservations a sweep releases per transaction (it goes on while batches come back full).
SWEEP_BATCH = 500


def expire_assignment(assignment_id: int) -> None:
    """Release a reservation that outlived its window (a no-op once answered or skipped).

    Kept for the jobs an earlier release queued per reservation; the sweep below does
    this work now.
    """
    with current().sessions.begin() as session:
        assignment.expire_assignment(session, assignment_id, utcnow())


def expire_reservations(reschedule: bool = False) -> int:
    """The reservation sweep: release every reservation past its expiry, a batch per
    transaction; returns how many. With ``reschedule`` (rq's chain, started by ``flask
    worker``) it queues the next sweep; the embedded default's timer repeats it instead.
    """
    runtime = current()
    released = 0
    while True:
        with runtime.sessions.begin() as session:
            batch = assignment.expire_due(session, utcnow(), limit=SWEEP_BATCH)
            if batch < SWEEP_BATCH and reschedule:
                schedule_reservation_sweep(session, runtime.settings.reservation_sweep_seconds)
        released += batch
        if batch < SWEEP_BATCH:
            if released:
                log.info("reservation sweep: %d lapsed reservation(s) released", released)
            return released


def schedule_reservation_sweep(session: Session, seconds: float) -> None:
    """Queue the next reservation sweep for the next slot of ``seconds`` (one job per slot)."""
    if seconds > 0:
        enqueue_next_tick(session, "tasks.jobs.expire_reservations", True, period_seconds=seconds)


def refresh_results(project_id: int) -> int | None:
    """Re-aggregate a whole project into a new results snapshot; returns its version, if new."""
    with current().sessions.begin() as session:
        project = session.get_one(Project, project_id)
        snapshot = snapshots.refresh_snapshot(session, project, utcnow())
        version = snapshot.version if snapshot else None
    log.info("results of project %s refreshed: version %s", project_id, version or "unchanged")
    return version


def reweigh_worker(worker_id: int) -> int:
    """Re-aggregate every task a suspended worker answered; returns how many reopened."""
    with current().sessions.begin() as session:
        return len(discounting.reweigh_worker(session, worker_id, utcnow()))


def release_proven(worker_id: int) -> int:
    """Accept (pay and count) the answers held while a now-proven worker was unproven."""
    with current().sessions.begin() as session:
        return len(review.release_unproven(session, worker_id, utcnow()))


def sign(secret: str, body: bytes) -> str:
    """The signature header value of a webhook body: ``sha256=`` and the HMAC in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def completion_body(project: Project, n_tasks: int, base_url: str | None) -> bytes:
    """The JSON body announcing that a project's tasks are all complete."""
    path = f"/api/v1/projects/{project.id}/results"
    payload = {
        "event": "project.completed",
        "project_id": project.id,
        "completed_at": project.completed_at.isoformat() if project.completed_at else None,
        "tasks_complete": n_tasks,
        "results_url": (base_url or "") + path,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def send_completion_webhook(project_id: int) -> None:
    """POST the signed completion notice to the requester; raises on failure so rq retries."""
    runtime = current()
    with runtime.sessions.begin() as session:
        project = session.get_one(Project, project_id)
        url = webhook_url_of(session, project)
        n = session.query(Task).filter_by(project_id=project_id, status=TaskStatus.COMPLETE).count()
        body = completion_body(project, n, runtime.settings.public_base_url)
        secret = project.webhook_secret or ""
    if not url:
        return
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    allow = AllowList.parse(runtime.settings.webhook_allowed_hosts)
    try:
        # Checked again now, and connected to the checked address: the host may resolve
        # elsewhere than when the URL was given (DNS rebinding).
        response = egress.post(
            url, allow, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS
        )
    except EgressRefused as exc:
        # A refusal will not pass by retrying: log it and give up on this notice.
        log.warning("webhook for project %s not sent: %s", project_id, exc.message)
        return
    if response.status_code >= 300:
        log.warning("webhook for project %s got HTTP %s", project_id, response.status_code)
        response.raise_for_status()
        raise requests.HTTPError(f"unexpected HTTP {response.status_code}")
