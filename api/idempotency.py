"""Idempotency keys for requester writes: a repeat with the same key replays the first answer."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict
from tasks.models import IdempotencyKey

MAX_KEY_LENGTH = 200


def request_hash(*parts: bytes | str) -> str:
    """A digest of what a request asked for, to tell a true repeat from a reused key."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def claim(session: Session, requester_id: int, key: str, digest: str) -> IdempotencyKey | None:
    """Reserve ``key`` for this request; returns the stored first answer when it is a repeat."""
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise Conflict(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
    row = IdempotencyKey(
        requester_id=requester_id, key=key, request_hash=digest, status_code=0, response={}
    )
    try:
        # Inserted before the work: a concurrent repeat waits on the unique index, then
        # finds this row committed (or gone, if the first request failed and rolled back).
        with session.begin_nested():
            session.add(row)
        return None
    except IntegrityError:
        stmt = select(IdempotencyKey).where(
            IdempotencyKey.requester_id == requester_id, IdempotencyKey.key == key
        )
        existing = session.scalars(stmt).one()
        if existing.request_hash != digest:
            raise Conflict("this Idempotency-Key was used for a different request") from None
        return existing


def remember(
    session: Session, requester_id: int, key: str, status: int, body: dict[str, Any]
) -> None:
    """Store the answer given to a keyed request, for replay."""
    stmt = select(IdempotencyKey).where(
        IdempotencyKey.requester_id == requester_id, IdempotencyKey.key == key
    )
    row = session.scalars(stmt).one()
    row.status_code, row.response = status, body
    session.flush()
