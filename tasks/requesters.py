"""Requesters: the accounts that submit projects, known by a hashed API key.

Services take a SQLAlchemy ``Session`` and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.secrets import hash_api_key, issue_api_key
from tasks.models import Requester


def create_requester(session: Session, name: str) -> tuple[Requester, str]:
    """Create a requester and return it with its API key (shown once, stored hashed)."""
    issued = issue_api_key()
    requester = Requester(name=name, api_key_hash=issued.hash, api_key_prefix=issued.prefix)
    session.add(requester)
    session.flush()
    return requester, issued.key


def rotate_api_key(session: Session, requester: Requester) -> str:
    """Replace a requester's API key; the old one stops working at commit."""
    issued = issue_api_key()
    requester.api_key_hash = issued.hash
    requester.api_key_prefix = issued.prefix
    session.flush()
    return issued.key


def requester_for_key(session: Session, key: str) -> Requester | None:
    """The active requester owning this API key, if any."""
    stmt = select(Requester).where(
        Requester.api_key_hash == hash_api_key(key), Requester.active.is_(True)
    )
    return session.scalars(stmt).one_or_none()
