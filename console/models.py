"""Operators (the people who run Kazi from the web console) and their audit trail."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, created_at, intpk, str_enum
from gateway.models import Message, UssdSession
from tasks.models import Assignment


class OperatorRole(StrEnum):
    """What an operator may do: viewers look, operators act, admins also manage operators."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class Operator(Base):
    """A console login."""

    __tablename__ = "operators"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[OperatorRole] = mapped_column(str_enum(OperatorRole))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A centre operator sees only that centre's workers, messages and payouts (None: all).
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    created_at: Mapped[created_at]
    last_login_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One thing an operator did (or tried: a refused login), kept for accountability."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_at", "at"),)

    id: Mapped[intpk]
    # Null for a failed login by an unknown email; entries outlive nothing, so no cascade.
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))  # "login", "worker.block", ...
    target: Mapped[str | None] = mapped_column(String(100))  # "worker:12"
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    at: Mapped[created_at]


# The dashboard and /metrics read recent traffic by time alone; these indexes keep those
# windows cheap on millions of rows. They are declared here because only the console
# needs them, leaving the owning packages' models untouched.
Index("ix_messages_created_at", Message.created_at)
Index("ix_ussd_sessions_started_at", UssdSession.started_at)
Index("ix_assignments_answered_at", Assignment.answered_at)
