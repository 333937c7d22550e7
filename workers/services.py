"""Use cases of the workers domain: every rule about a worker's standing lives here.

First contact creates the worker; registration records consent and a PIN;
qualification is recorded once the quiz is passed (the quiz itself belongs to
``tasks.qualification``); a PIN is checked with a lockout after three wrong ones;
language, SMS opt-out and blocking are set here. The gateway, payouts, tasks and
the console call these functions and keep no worker rules of their own.

Functions take a Session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, NotFound
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


def lock_by_phone(session: Session, phone: str) -> None:
    """Take the worker's row lock (PostgreSQL) or SQLite's write lock, for the transaction.

    A write, so it also holds on SQLite, which has no row locks: two hops of one
    worker then run one after the other, and a job's commit in between cannot leave a
    hop reading a stale snapshot. A number not yet known locks nothing.
    """
    session.execute(update(Worker).where(Worker.msisdn == phone).values(id=Worker.id))


def contact(session: Session, phone: str, *, default_language: str) -> Worker:
    """The worker with this E.164 number, created on first contact."""
    worker = by_phone(session, phone)
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


def _pin_failures_key(worker_id: int) -> str:
    return f"workers:pin-failures:{worker_id}"


def check_pin(store: KeyValueStore, worker: Worker, pin: str, *, lock_minutes: float) -> None:
    """Refuse a wrong PIN (``PinRefused``); the third wrong one in a row locks it for a while.

    The count lives in the shared store with the lock's expiry, so every web and
    worker process sees it and the lock lifts by itself.
    """
    key = _pin_failures_key(worker.id)
    failures = int(store.get(key) or 0)
    if failures >= PIN_ATTEMPTS:
        raise PinRefused("pin_locked", "too many wrong PINs; try again later")
    if not worker.pin_hash:
        raise PinRefused("no_pin", "set a PIN before withdrawing")
    if check_password(worker.pin_hash, pin):
        store.delete(key)
        return
    failures = store.incr(key, ttl_seconds=lock_minutes * 60)
    if failures >= PIN_ATTEMPTS:
        # The lock runs from the third failure, not from the first.
        store.set(key, str(failures).encode(), ttl_seconds=lock_minutes * 60)
        raise PinRefused("pin_locked", "too many wrong PINs; try again later")
    raise PinRefused("wrong_pin", "wrong PIN", attempts_left=PIN_ATTEMPTS - failures)


def pin_locked(store: KeyValueStore, worker_id: int) -> bool:
    """True while a worker's PIN is locked by wrong attempts (for menus to say so)."""
    return int(store.get(_pin_failures_key(worker_id)) or 0) >= PIN_ATTEMPTS


# -- standing: blocking and opting out ------------------------------------------------


def may_work(worker: Worker) -> bool:
    """Whether the worker may be given tasks (a blocked worker may not)."""
    return worker.status is WorkerStatus.ACTIVE


def may_withdraw(worker: Worker) -> bool:
    """Whether the worker may withdraw (a blocked worker may not)."""
    return worker.status is not WorkerStatus.BLOCKED


def set_blocked(session: Session, worker_id: int, *, blocked: bool, reason: str) -> Worker:
    """Block or unblock a worker, with the reason kept on the worker's row."""
    reason = reason.strip()
    if not reason:
        raise ReasonRequired("give a reason")
    worker = session.get(Worker, worker_id, with_for_update=True)
    if worker is None:
        raise NotFound(f"no worker {worker_id}")
    wanted = WorkerStatus.BLOCKED if blocked else WorkerStatus.ACTIVE
    if worker.status == wanted:
        raise Conflict(f"worker {worker_id} is already {wanted.value}")
    worker.status = wanted
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


def reachable(*, country: str | None = None, language: str | None = None) -> Select[int, str]:
    """Ids and numbers of the workers a broadcast may reach: active and not opted out."""
    query = select(Worker.id, Worker.msisdn).where(
        Worker.status == WorkerStatus.ACTIVE, Worker.opted_out_at.is_(None)
    )
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
