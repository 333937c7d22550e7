"""Workers: the people who answer tasks from a feature phone, known by their MSISDN."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, created_at, intpk, msisdn, str_enum, updated_at


class WorkerStatus(StrEnum):
    """Whether a worker may receive tasks (opting out of SMS is separate: ``opted_out_at``)."""

    ACTIVE = "active"
    BLOCKED = "blocked"


class Worker(Base):
    """A worker, identified by an E.164 phone number."""

    __tablename__ = "workers"
    __table_args__ = (CheckConstraint("msisdn LIKE '+%'", name="msisdn_e164"),)

    id: Mapped[intpk]
    msisdn: Mapped[msisdn] = mapped_column(unique=True)
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(5), default="en")
    status: Mapped[WorkerStatus] = mapped_column(
        str_enum(WorkerStatus), default=WorkerStatus.ACTIVE
    )
    status_reason: Mapped[str | None] = mapped_column(String(200))
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    consented_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    qualified_at: Mapped[datetime | None]  # passed the qualification quiz of gold tasks
    opted_out_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]  # asked to be forgotten: the number is a pseudonym
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
