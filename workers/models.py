"""Workers: the people who answer tasks from a feature phone, known by their MSISDN."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, created_at, intpk, msisdn, str_enum, updated_at


class WorkerStatus(StrEnum):
    """Whether a worker may receive tasks (opting out of SMS is separate: ``opted_out_at``)."""

    ACTIVE = "active"
    BLOCKED = "blocked"


class Centre(Base):
    """A partner centre (a rural delivery centre): its workers join by dialling its code."""

    __tablename__ = "centres"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    # Digits only: dialled as an extra USSD segment, *384*12*CODE# (workers.centres).
    registration_code: Mapped[str] = mapped_column(String(12), unique=True)
    created_at: Mapped[created_at]


class Worker(Base):
    """A worker, identified by an E.164 phone number."""

    __tablename__ = "workers"
    __table_args__ = (CheckConstraint("msisdn LIKE '+%'", name="msisdn_e164"),)

    id: Mapped[intpk]
    msisdn: Mapped[msisdn] = mapped_column(unique=True)
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(5), default="en")
    # The languages the worker does tasks in (ISO 639-1); empty: their screen language.
    languages: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    status: Mapped[WorkerStatus] = mapped_column(
        str_enum(WorkerStatus), default=WorkerStatus.ACTIVE
    )
    status_reason: Mapped[str | None] = mapped_column(String(200))
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    # Locks after wrong PINs escalate: how many in a row, and until when the current one
    # holds (None at the last level: until an operator unlocks it). See workers.services.
    pin_lock_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None]
    consented_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    qualified_at: Mapped[datetime | None]  # passed the qualification quiz of gold tasks
    opted_out_at: Mapped[datetime | None]
    # Suspension from paid work by the spam detectors (blocking is an operator's act).
    suspended_at: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(String(40))
    quality_flags: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The partner centre the worker joined (first dial with its code) or was assigned to.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    erased_at: Mapped[datetime | None]  # asked to be forgotten: the number is a pseudonym
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
