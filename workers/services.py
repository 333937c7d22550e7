"""Use cases of the workers domain: every rule about a worker's standing lives here.

First contact creates the worker; registration records consent and a PIN;
qualification is recorded once the quiz is passed (the quiz itself belongs to
``tasks.qualification``); a PIN is checked with a lock after three wrong ones, which
escalates (30 minutes, 24 hours, then until an operator unlocks it);
language, SMS opt-out and blocking are set here. The gateway, payouts, tasks and
the console call these functions and keep no worker rules of their own.

Functions take a Session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, NotFound
from core.jobs import enqueue
from core.kvstore import KeyValueStore
from core.phone import normalize_msisdn
from core.secrets import check_password, hash_password
from flows.i18n import LANGUAGES
from workers.errors import PinRefused, ReasonRequired
from workers.models import Worker, WorkerStatus

#: Wrong PINs in a row that pause a worker's withdrawals.
PIN_ATTEMPTS = 3
REASON_MAX = 200


def by_phone(session: Session, phone: str) -> Worker | None:
    """The worker with this E.164 number, if Kazi has heard from it."""
    return session.scalars(select(Worker).where(Worker.msisdn == phone)).one_or_none()


def lock_by_phone(session: Session, phone: str) -> Worker | None:
    """Take the worker's row lock (PostgreSQL) or SQLite's write lock, for the transaction,
    and return the worker's row as locked (None for a number not yet known).

    A write, so it also holds on SQLite, which has no row locks: two hops of one
    worker then run one after the other, and a job's commit in between cannot leave a
    hop reading a stale snapshot. A number not yet known locks nothing. The row comes
    back with the write (RETURNING), so the hop need not read it again.
    """
    worker = session.scalars(_LOCK_BY_PHONE, {"phone": phone}).one_or_none()
    if worker is not None:
        session.info[_LOCKED] = (session.get_transaction(), worker.id)
    return worker


#: Built once (building costs more CPU than running it), bound at execute time.
_LOCK_BY_PHONE = (
    update(Worker)
    .where(Worker.msisdn == bindparam("phone"))
    .values(id=Worker.id)
    .returning(Worker)
    .execution_options(populate_existing=True)
)

#: ``session.info`` key: the transaction and the worker whose row ``lock_by_phone`` holds.
_LOCKED = "workers.locked"


def lock(session: Session, worker_id: int) -> None:
    """Hold the worker's row lock until the transaction ends (once per transaction)."""
    transaction, locked_id = session.info.get(_LOCKED, (None, None))
    if locked_id == worker_id and transaction is session.get_transaction():
        return  # this transaction took it already: asking again is a wasted round trip
    session.execute(select(Worker.id).where(Worker.id == worker_id).with_for_update())


def contact(
    session: Session, phone: str, *, default_language: str, known: Worker | None = None
) -> Worker:
    """The worker with this E.164 number (``known`` when the caller holds the row),
    created on first contact."""
    worker = known if known is not None else by_phone(session, phone)
    if worker is not None:
        return worker
    region = normalize_msisdn(phone).region
    worker = Worker(msisdn=phone, country=region, language=default_language)
    try:
        # A savepoint: two first contacts racing (SMS and USSD at once) must not
        # fail the whole webhook on the unique number.
        with session.begin_nested():
            session.add(worker)
    except IntegrityError:
        worker = session.scalars(select(Worker).where(Worker.msisdn == phone)).one()
    return worker


def language_of(session: Session, phone: str | None, default: str) -> str:
    """The language to speak to this number in: the worker's if known, else ``default``."""
    if phone is None:
        return default
    language = session.scalars(select(Worker.language).where(Worker.msisdn == phone)).first()
    return language or default


def speaks(worker: Worker) -> str:
    """The worker's language if Kazi speaks it, else English."""
    return worker.language if worker.language in LANGUAGES else "en"


# -- registration ---------------------------------------------------------------------


def is_registered(worker: Worker) -> bool:
    """Registered once consent and a PIN are both recorded."""
    return worker.registered_at is not None and worker.pin_hash is not None


def is_qualified(worker: Worker) -> bool:
    """Qualified once the qualification quiz is passed."""
    return worker.qualified_at is not None


def set_language(worker: Worker, language: str) -> bool:
    """Speak to the worker in ``language``; False (nothing changes) for one Kazi lacks."""
    if language not in LANGUAGES:
        return False
    worker.language = language
    return True


def task_languages(worker: Worker) -> list[str]:
    """The languages the worker does tasks in: their screen language first, then the rest."""
    return list(dict.fromkeys([speaks(worker), *(worker.languages or [])]))


def set_task_languages(worker: Worker, add: str) -> bool:
    """Tasks in the screen language plus ``add`` (a language Kazi speaks, or "all"; empty:
    the screen language alone). False (nothing changes) for a language Kazi lacks."""
    if add not in ("", "all", *LANGUAGES):
        return False
    extra = list(LANGUAGES) if add == "all" else [add] if add else []
    worker.languages = list(dict.fromkeys([speaks(worker), *extra]))
    return True


def record_consent(worker: Worker, accepted: bool, now: datetime) -> None:
    """The worker accepted (or declined) the terms; declining undoes a registration."""
    worker.consented_at = now if accepted else None
    if not accepted:
        worker.registered_at = None


def set_pin(worker: Worker, pin: str, now: datetime) -> None:
    """Store the PIN's slow hash; with consent already given, the worker is registered."""
    worker.pin_hash = hash_password(pin)
    if worker.consented_at is not None:
        worker.registered_at = worker.registered_at or now


def mark_qualified(worker: Worker, now: datetime) -> None:
    """The worker passed the qualification quiz."""
    worker.qualified_at = worker.qualified_at or now


# -- PIN ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PinLock:
    """Where a worker's PIN lock stands: its level in the escalation and until when it holds."""

    level: int  # locks in a row since the last right PIN (0: never locked)
    until: datetime | None  # None while locked at the last level: until an operator unlocks

    @property
    def needs_operator(self) -> bool:
        """Locked for good, until an operator unlocks it."""
        return self.level >= len(LOCK_STEPS) + 1


#: How long each lock in a row lasts after the first (``lock_minutes``); the lock after
#: these is for good, until an operator unlocks it (``unlock_pin``).
LOCK_STEPS = (timedelta(hours=24),)


def _pin_failures_key(worker_id: int) -> str:
    return f"workers:pin-failures:{worker_id}"


def check_pin(
    session: Session,
    store: KeyValueStore,
    worker: Worker,
    pin: str,
    *,
    lock_minutes: float,
    now: datetime | None = None,
) -> None:
    """Refuse a wrong PIN (``PinRefused``); the third wrong one in a row locks withdrawals.

    Locks escalate: ``lock_minutes`` (30 by default), then 24 hours, then until an
    operator unlocks them; a right PIN starts the escalation over. Wrong PINs are
    counted in the shared store (every process sees them); the lock itself is on the
    worker's row, so a lock for good survives a flushed store. Each new lock tells the
    worker by SMS (``workers.jobs.notify``, sent after commit). The caller holds the
    worker's row lock (``lock_by_phone``), so two checks at once cannot both miss it.
    """
    now = now or utcnow()
    if pin_locked(worker, now):
        raise PinRefused("pin_locked", "too many wrong PINs; withdrawals are locked")
    if not worker.pin_hash:
        raise PinRefused("no_pin", "set a PIN before withdrawing")
    key = _pin_failures_key(worker.id)
    if check_password(worker.pin_hash, pin):
        store.delete(key)
        worker.pin_lock_level, worker.pin_locked_until = 0, None
        return
    # The counter outlives the longest timed lock, so three wrong PINs in a row count
    # however slowly they come; a lock starts a new count.
    failures = store.incr(key, ttl_seconds=LOCK_STEPS[-1].total_seconds())
    if failures < PIN_ATTEMPTS:
        raise PinRefused("wrong_pin", "wrong PIN", attempts_left=PIN_ATTEMPTS - failures)
    store.delete(key)
    _lock(session, worker, timedelta(minutes=lock_minutes), now)
    raise PinRefused("pin_locked", "too many wrong PINs; withdrawals are locked")


def _lock(session: Session, worker: Worker, first: timedelta, now: datetime) -> None:
    steps = (first, *LOCK_STEPS)
    worker.pin_lock_level += 1
    level = worker.pin_lock_level
    worker.pin_locked_until = now + steps[level - 1] if level <= len(steps) else None
    if worker.pin_locked_until is None:
        key, values = "payout.pin_locked_operator", {}
    else:
        hours = steps[level - 1].total_seconds() / 3600
        key = "payout.pin_locked_hours" if hours >= 1 else "payout.pin_locked_minutes"
        values = {"hours": round(hours)} if hours >= 1 else {"minutes": round(hours * 60)}
    enqueue(session, "workers.jobs.notify", worker.id, key, values, queue="sms")


def pin_lock(worker: Worker) -> PinLock:
    """The worker's PIN lock as it stands (for the console)."""
    return PinLock(worker.pin_lock_level, worker.pin_locked_until)


def pin_locked(worker: Worker, now: datetime | None = None) -> bool:
    """True while wrong PINs keep the worker's withdrawals locked (for menus to say so)."""
    if worker.pin_lock_level == 0:
        return False
    until = worker.pin_locked_until
    if until is None:
        return True  # the last level: until an operator unlocks it
    return until.astimezone(UTC) > (now or utcnow())


def unlock_pin(session: Session, store: KeyValueStore, worker_id: int) -> Worker:
    """An operator lifts a worker's PIN lock and starts the escalation over."""
    worker = session.get(Worker, worker_id, with_for_update=True)
    if worker is None:
        raise NotFound(f"no worker {worker_id}")
    if worker.pin_lock_level == 0:
        raise Conflict(f"worker {worker_id} has no PIN lock")
    worker.pin_lock_level, worker.pin_locked_until = 0, None
    store.delete(_pin_failures_key(worker.id))
    return worker


# -- standing: blocking and opting out ------------------------------------------------


def may_work(worker: Worker) -> bool:
    """Whether the worker may be given paid tasks (a blocked or suspended worker may not)."""
    return worker.status is WorkerStatus.ACTIVE and not is_suspended(worker)


def may_withdraw(worker: Worker) -> bool:
    """Whether the worker may withdraw (a blocked worker may not)."""
    return worker.status is not WorkerStatus.BLOCKED


def _locked_with_reason(session: Session, worker_id: int, reason: str) -> tuple[Worker, str]:
    """The worker's row, locked for an operator's change, and the change's stripped reason."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired("give a reason")
    worker = session.get(Worker, worker_id, with_for_update=True)
    if worker is None:
        raise NotFound(f"no worker {worker_id}")
    return worker, reason


def set_blocked(session: Session, worker_id: int, *, blocked: bool, reason: str) -> Worker:
    """Block or unblock a worker, with the reason kept on the worker's row."""
    worker, reason = _locked_with_reason(session, worker_id, reason)
    wanted = WorkerStatus.BLOCKED if blocked else WorkerStatus.ACTIVE
    if worker.status == wanted:
        raise Conflict(f"worker {worker_id} is already {wanted.value}")
    worker.status = wanted
    worker.status_reason = reason[:REASON_MAX]
    return worker


# -- suspension by the spam detectors ----------------------------------------------

#: Why a worker was suspended, as the detectors name it; each has a screen in
#: flows/locales (``suspended.<reason>``) telling the worker on their next dial.
SUSPENSION_REASONS = ("chance", "pattern", "too_fast")


def is_suspended(worker: Worker) -> bool:
    """Whether the spam detectors suspended the worker from paid work."""
    return worker.suspended_at is not None


def suspension_of(worker: Worker) -> str:
    """The suspension's reason code for the worker's screens, or "" when not suspended."""
    return (worker.suspension_reason or "chance") if is_suspended(worker) else ""


def record_flag(
    session: Session, worker_id: int, reason: str, now: datetime, *, flags_to_suspend: int
) -> bool:
    """Count one detector flag against the worker; True when it suspends them now."""
    if reason not in SUSPENSION_REASONS:
        raise ValueError(f"unknown flag reason {reason!r}")
    # The increment is one UPDATE, so two answers flagged at once both count.
    session.execute(
        update(Worker).where(Worker.id == worker_id).values(quality_flags=Worker.quality_flags + 1),
        execution_options={"synchronize_session": False},
    )
    worker = session.get_one(Worker, worker_id)
    session.refresh(worker, ["quality_flags", "suspended_at"])
    if worker.suspended_at is not None or worker.quality_flags < flags_to_suspend:
        return False
    worker.suspended_at = now
    worker.suspension_reason = reason
    return True


def reinstate(session: Session, worker_id: int, *, reason: str) -> Worker:
    """Lift a suspension (an operator's decision, with a reason); the flag count restarts."""
    worker, reason = _locked_with_reason(session, worker_id, reason)
    if worker.suspended_at is None:
        raise Conflict(f"worker {worker_id} is not suspended")
    worker.suspended_at = None
    worker.suspension_reason = None
    worker.quality_flags = 0
    worker.status_reason = reason[:REASON_MAX]
    return worker


def set_opted_out(session: Session, phone: str, opted_out: bool) -> Worker | None:
    """Mark the worker with this number opted out of (or back into) Kazi's SMS."""
    worker = by_phone(session, phone)
    if worker is None and not opted_out:
        return None
    if worker is None:
        # A number we never heard from (a receipt to a new payee) blocked us at the
        # network: keep a worker row so the opt-out is remembered for every later send.
        worker = contact(session, phone, default_language="en")
    if opted_out and worker.opted_out_at is None:
        worker.opted_out_at = utcnow()
    elif not opted_out:
        worker.opted_out_at = None
    return worker


def opted_out_since(session: Session, phone: str) -> datetime | None:
    """When this number opted out of Kazi's SMS; None while it receives them."""
    return session.scalars(
        select(Worker.opted_out_at).where(Worker.msisdn == phone, Worker.opted_out_at.is_not(None))
    ).first()


def reachable(
    *, country: str | None = None, language: str | None = None, registered: bool = False
) -> Select[int, str]:
    """Ids and numbers of the workers a broadcast may reach: active and not opted out
    (and, with ``registered``, registered as ``is_registered`` says: terms and PIN)."""
    query = select(Worker.id, Worker.msisdn).where(
        Worker.status == WorkerStatus.ACTIVE, Worker.opted_out_at.is_(None)
    )
    if registered:
        query = query.where(Worker.registered_at.is_not(None), Worker.pin_hash.is_not(None))
    if country:
        query = query.where(Worker.country == country.upper())
    if language:
        query = query.where(Worker.language == language.lower())
    return query.order_by(Worker.id)


def pseudonym(worker_id: int) -> str:
    """The stand-in number of an erased worker: "+0…" is no E.164 number, so never a real one."""
    return f"+0{worker_id:014d}"


def forget(worker: Worker, now: datetime) -> str:
    """Erase what identifies the worker (number, PIN); the id, and so the ledger, stays.

    Returns the number that was erased, for the other domains' records of it.
    """
    phone = worker.msisdn
    worker.msisdn = pseudonym(worker.id)
    worker.pin_hash = None
    worker.status_reason = None
    worker.opted_out_at = worker.opted_out_at or now  # nothing more is sent to nobody
    worker.erased_at = now
    return phone


def erased_pseudonym(session: Session, worker_id: int | None) -> str | None:
    """The pseudonym of a worker who asked to be forgotten, or None (not erased, or no worker)."""
    if worker_id is None:
        return None
    worker = session.get(Worker, worker_id)
    return worker.msisdn if worker is not None and worker.erased_at is not None else None
