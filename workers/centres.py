"""Partner centres: the rural delivery centres workers join, by dialling a centre's code.

A centre's registration code is an extra segment of the USSD code: a worker dials
``*384*12*CODE#`` and Africa's Talking sends the service code (``*384*12#``) with
``CODE`` as the session's first ``text`` (its documented convention for digits dialled
after a service code: https://developers.africastalking.com/docs/ussd/overview). The
first dial with a known code makes that the worker's centre; a later code changes
nothing (only an admin moves a worker between centres). Codes are 3-8 digits, so a
one- or two-digit shortcut into the menu is never taken for a centre.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workers.errors import InvalidCentre
from workers.models import Centre, Worker

CODE_DIGITS = (3, 8)
NAME_MAX = 200


def is_centre_code(text: str) -> bool:
    """Whether ``text`` has the shape of a registration code (not whether a centre has it)."""
    low, high = CODE_DIGITS
    return text.isascii() and text.isdigit() and low <= len(text) <= high


def create_centre(session: Session, *, name: str, country: str, registration_code: str) -> Centre:
    """A new centre; raises InvalidCentre naming what is wrong (a taken code among them)."""
    name, country, code = name.strip(), country.strip().upper(), registration_code.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidCentre(f"a centre needs a name of 1-{NAME_MAX} characters")
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise InvalidCentre("country is a two-letter ISO 3166 code, e.g. KE")
    if not is_centre_code(code):
        low, high = CODE_DIGITS
        raise InvalidCentre(f"the registration code is {low}-{high} digits, e.g. 501")
    centre = Centre(name=name, country=country, registration_code=code)
    try:
        with session.begin_nested():
            session.add(centre)
    except IntegrityError:
        raise InvalidCentre(f"another centre has registration code {code}") from None
    return centre


def by_code(session: Session, code: str) -> Centre | None:
    """The centre with this registration code, or None."""
    if not is_centre_code(code):
        return None
    return session.scalars(select(Centre).where(Centre.registration_code == code)).one_or_none()


def join_by_code(session: Session, worker: Worker, code: str) -> Centre | None:
    """The centre a dialled code names, joined when the worker has none yet; None if unknown."""
    centre = by_code(session, code)
    if centre is not None and worker.centre_id is None:
        worker.centre_id = centre.id
    return centre


def assign_worker(session: Session, worker_id: int, centre_id: int | None) -> Worker:
    """Put a worker in a centre (None: in none), as an admin decides."""
    worker = session.get(Worker, worker_id)
    if worker is None:
        raise InvalidCentre(f"no worker {worker_id}")
    if centre_id is not None and session.get(Centre, centre_id) is None:
        raise InvalidCentre(f"no centre {centre_id}")
    worker.centre_id = centre_id
    return worker


def all_centres(session: Session) -> list[Centre]:
    """Every centre, by name."""
    return list(session.scalars(select(Centre).order_by(Centre.name, Centre.id)))


def centre_worker_ids(centre_id: int) -> Select[int]:
    """The ids of a centre's workers, as a select to use in ``IN (...)``.

    The scope of everything a centre operator sees (workers, messages, payouts) and of
    the impact report for one centre.
    """
    return select(Worker.id).where(Worker.centre_id == centre_id)


def in_centre(session: Session, worker_id: int | None, centre_id: int) -> bool:
    """Whether this worker belongs to this centre."""
    if worker_id is None:
        return False
    return session.scalar(select(Worker.centre_id).where(Worker.id == worker_id)) == centre_id
