"""Operators: the people who run Kazi from the web console."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, created_at, intpk, str_enum


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
    created_at: Mapped[created_at]
    last_login_at: Mapped[datetime | None]
