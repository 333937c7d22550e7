"""Use cases of the console: operator accounts, sign-in, the audit log, blocking workers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import AuditEntry, Operator, OperatorRole
from core.db import utcnow
from core.kvstore import KeyValueStore
from core.secrets import check_password, hash_password, new_password
from workers import services as workers
from workers.errors import InvalidCentre, ReasonRequired
from workers.models import Centre, Worker

#: A hash to check against when the email is unknown, so both cases take as long.
_DUMMY_HASH = hash_password("not-a-real-password")


def create_operator(
    session: Session, email: str, role: OperatorRole, *, by: int | None = None
) -> tuple[Operator, str]:
    """Create a console login and return it with its new password (shown once); audited."""
    password = new_password()
    operator = Operator(
        email=email.strip().lower(), password_hash=hash_password(password), role=role
    )
    session.add(operator)
    session.flush()
    # ``by`` is None when the command line or the demo seed does it.
    record_audit(
        session,
        operator_id=by,
        action="operator.create",
        target=f"operator:{operator.id}",
        details={"email": operator.email, "role": OperatorRole(role).value},
    )
    return operator, password


def reset_password(session: Session, operator: Operator, *, by: int | None = None) -> str:
    """Give an operator a new random password and return it; audited."""
    password = new_password()
    operator.password_hash = hash_password(password)
    session.flush()
    record_audit(
        session, operator_id=by, action="operator.reset_password", target=f"operator:{operator.id}"
    )
    return password


def operator_by_email(session: Session, email: str) -> Operator | None:
    """The operator with this email, if any."""
    return session.scalars(select(Operator).where(Operator.email == email.strip().lower())).first()


def authenticate(session: Session, email: str, password: str) -> Operator | None:
    """The active operator with this email and password, else None (in constant-ish time)."""
    operator = operator_by_email(session, email)
    if operator is None:
        check_password(_DUMMY_HASH, password)
        return None
    if not check_password(operator.password_hash, password) or not operator.active:
        return None
    operator.last_login_at = utcnow()
    return operator


def record_audit(
    session: Session,
    *,
    operator_id: int | None,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Write one audit entry in the caller's transaction, so it commits with the change."""
    entry = AuditEntry(
        operator_id=operator_id, action=action, target=target, details=details or {}, ip=ip
    )
    session.add(entry)
    session.flush()
    return entry


def recent_audit(session: Session, limit: int = 200) -> list[tuple[AuditEntry, str | None]]:
    """The newest audit entries, each with the email of the operator who acted (if any)."""
    rows = session.execute(
        select(AuditEntry, Operator.email)
        .outerjoin(Operator, Operator.id == AuditEntry.operator_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return [(entry, email) for entry, email in rows]


def reinstate_worker(
    session: Session, *, worker_id: int, reason: str, operator_id: int, ip: str | None
) -> Worker:
    """Lift a worker's suspension by the spam checks, audited in the same transaction."""
    suspended_for = session.get_one(Worker, worker_id).suspension_reason
    worker = workers.reinstate(session, worker_id, reason=reason)
    record_audit(
        session,
        operator_id=operator_id,
        action="worker.reinstate",
        target=f"worker:{worker_id}",
        details={"reason": worker.status_reason or "", "suspended_for": suspended_for},
        ip=ip,
    )
    return worker


def set_worker_blocked(
    session: Session,
    *,
    worker_id: int,
    blocked: bool,
    reason: str,
    operator_id: int,
    ip: str | None,
) -> Worker:
    """Block or unblock a worker with a reason, audited in the same transaction."""
    worker = workers.set_blocked(session, worker_id, blocked=blocked, reason=reason)
    reason = worker.status_reason or ""
    record_audit(
        session,
        operator_id=operator_id,
        action="worker.block" if blocked else "worker.unblock",
        target=f"worker:{worker_id}",
        details={"reason": reason},
        ip=ip,
    )
    return worker


def unlock_worker_pin(
    session: Session,
    store: KeyValueStore,
    *,
    worker_id: int,
    reason: str,
    operator_id: int,
    ip: str | None,
) -> Worker:
    """Lift a worker's PIN lock (the last level waits for this), audited with the reason."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired("give a reason")
    worker = workers.unlock_pin(session, store, worker_id)
    record_audit(
        session,
        operator_id=operator_id,
        action="worker.pin_unlock",
        target=f"worker:{worker_id}",
        details={"reason": reason[: workers.REASON_MAX]},
        ip=ip,
    )
    return worker


def set_operator_centre(
    session: Session, *, operator_id: int, centre_id: int | None, by: int, ip: str | None
) -> Operator:
    """Make an operator a centre operator (or, with None, staff who see every centre); audited.

    An admin stays unscoped: admins manage every centre, and a scoped admin could
    lift their own scope.
    """
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise InvalidCentre(f"no operator {operator_id}")
    if centre_id is not None and OperatorRole(operator.role) is OperatorRole.ADMIN:
        raise InvalidCentre("an admin sees every centre; give a centre to viewers or operators")
    if centre_id is not None and session.get(Centre, centre_id) is None:
        raise InvalidCentre(f"no centre {centre_id}")
    operator.centre_id = centre_id
    record_audit(
        session,
        operator_id=by,
        action="operator.centre",
        target=f"operator:{operator_id}",
        details={"centre": centre_id},
        ip=ip,
    )
    return operator
