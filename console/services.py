"""Use cases of the console: operator accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import Operator, OperatorRole
from core.secrets import hash_password, new_password


def create_operator(session: Session, email: str, role: OperatorRole) -> tuple[Operator, str]:
    """Create a console login and return it with its new password (shown once)."""
    password = new_password()
    operator = Operator(
        email=email.strip().lower(), password_hash=hash_password(password), role=role
    )
    session.add(operator)
    session.flush()
    return operator, password


def reset_password(session: Session, operator: Operator) -> str:
    """Give an operator a new random password and return it."""
    password = new_password()
    operator.password_hash = hash_password(password)
    session.flush()
    return password


def operator_by_email(session: Session, email: str) -> Operator | None:
    """The operator with this email, if any."""
    return session.scalars(select(Operator).where(Operator.email == email.strip().lower())).first()
