"""What a centre operator may see: their centre's workers, and those workers' messages and
payouts; nothing of another centre's, not even by typing its URL.

An operator with a ``centre_id`` is scoped; one without (the organisation's own staff)
sees everything. Lists filter with ``worker_ids()``; pages that name a worker or a
payout in their URL are checked once for all in ``_in_scope``, a blueprint hook, so a
page added later cannot forget it. Out of scope is a 404, as for a row that does not
exist: the answer must not tell a centre which ids another centre has.
"""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from console.blueprint import bp, sessions
from payouts.models import Payout
from tasks.models import Assignment
from workers.centres import centre_worker_ids, in_centre


def centre_id() -> int | None:
    """The signed-in operator's centre, or None when they see every centre."""
    if not current_user.is_authenticated:
        return None
    return getattr(current_user, "centre_id", None)


def worker_ids() -> Select[int] | None:
    """The ids of the workers the operator may see, as a select; None: every worker."""
    centre = centre_id()
    return None if centre is None else centre_worker_ids(centre)


def may_see_worker(session: Session, worker_id: int | None) -> bool:
    """Whether the operator may see this worker."""
    centre = centre_id()
    return centre is None or in_centre(session, worker_id, centre)


def may_see_payout(session: Session, payout_id: int) -> bool:
    """Whether the operator may see this payout (its worker is in scope)."""
    if centre_id() is None:
        return True
    worker_id = session.scalar(select(Payout.worker_id).where(Payout.id == payout_id))
    return may_see_worker(session, worker_id)


def may_see_assignment(session: Session, assignment_id: int) -> bool:
    """Whether the operator may see this answer (its worker is in scope)."""
    if centre_id() is None:
        return True
    worker_id = session.scalar(select(Assignment.worker_id).where(Assignment.id == assignment_id))
    return may_see_worker(session, worker_id)


@bp.before_request
def _in_scope() -> None:
    # Runs after the sign-in guard (registered later on the same blueprint).
    args = request.view_args or {}
    if centre_id() is None or not ({"worker_id", "payout_id", "assignment_id"} & set(args)):
        return
    with sessions()() as session:
        if "worker_id" in args and not may_see_worker(session, args["worker_id"]):
            abort(404, f"No worker {args['worker_id']}.")
        if "payout_id" in args and not may_see_payout(session, args["payout_id"]):
            abort(404, f"No payout {args['payout_id']}.")
        if "assignment_id" in args and not may_see_assignment(session, args["assignment_id"]):
            abort(404, f"No answer {args['assignment_id']}.")


def impact_report_scope() -> Select[int] | None:
    """The worker ids the impact report covers for the signed-in operator; None: everyone.

    The hook for the impact report page: a centre operator's report is their centre's
    (``workers.centres.centre_worker_ids``), staff see the whole organisation's.
    """
    return worker_ids()
