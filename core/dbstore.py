"""The key-value store in the database: the embedded default's shared store when there is no Redis.

Every process of a deployment (``gunicorn -w 2``, the CLI, a restart) sees the same
flow states, resume points and counters, because they live in one table rather than
in one process's memory. Expired rows are treated as absent at once and deleted by a
sweep that each process runs now and then on a write.

A write made while the current thread's Kazi session holds a transaction goes through
that session's connection, in that transaction: on SQLite a second connection would
wait for the write lock the hop itself holds (a self-deadlock), and a flow state that
commits with the hop's rows can never disagree with them.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    LargeBinary,
    String,
    case,
    delete,
    event,
    select,
)
from sqlalchemy import func as sql_func
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column, sessionmaker

from core.db import Base, insert_or_skip, matched_rows, utcnow

#: How often (at most) one process deletes expired rows.
SWEEP_INTERVAL_SECONDS = 60.0
_AMBIENT_KEY = "kazi.kv_connection"

# The Kazi sessions now in a transaction in this thread (innermost last). Weak references:
# a session dropped without being closed must not keep its connection checked out.
_ambient: ContextVar[tuple[weakref.ref[Session], ...]] = ContextVar("kazi_kv_ambient", default=())


class KvEntry(Base):
    """One key of the shared store: bytes, or a counter, and when it stops counting."""

    __tablename__ = "kv_entries"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[bytes | None] = mapped_column(LargeBinary())
    counter: Mapped[int | None] = mapped_column(BigInteger())
    expires_at: Mapped[datetime | None] = mapped_column(index=True)


class DatabaseStore:
    """``core.kvstore.KeyValueStore`` on the ``kv_entries`` table, shared by every process."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._monotonic = monotonic
        self._last_sweep = monotonic()

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        for ref in reversed(_ambient.get()):
            session = ref()
            if session is not None and session.in_transaction():
                connection = session.connection()
                if connection.engine is self._engine:
                    yield connection
                    return
        with self._engine.begin() as connection:
            yield connection

    def _live(self, now: datetime) -> Any:
        table = KvEntry.__table__.c
        return table.expires_at.is_(None) | (table.expires_at > now)

    def _expiry(self, now: datetime, ttl_seconds: float | None) -> datetime | None:
        return None if ttl_seconds is None else now + timedelta(seconds=ttl_seconds)

    def get(self, key: str) -> bytes | None:
        now = self._clock()
        table = KvEntry.__table__.c
        stmt = select(table.value, table.counter).where(table.key == key, self._live(now))
        with self._connection() as connection:
            row = connection.execute(stmt).first()
        if row is None:
            return None
        return row.value if row.counter is None else str(row.counter).encode()

    def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        now = self._clock()
        expires_at = self._expiry(now, ttl_seconds)
        stmt = self._insert({"key": key, "value": value, "counter": None, "expires_at": expires_at})
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": value, "counter": None, "expires_at": expires_at},
        )
        with self._connection() as connection:
            connection.execute(stmt)
            self._maybe_sweep(connection, now)

    def set_if_absent(self, key: str, value: bytes, ttl_seconds: float | None = None) -> bool:
        now = self._clock()
        expires_at = self._expiry(now, ttl_seconds)
        table = KvEntry.__table__.c
        stmt = self._insert({"key": key, "value": value, "counter": None, "expires_at": expires_at})
        # An expired row counts as absent: it is taken over, as Redis would have dropped it.
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": value, "counter": None, "expires_at": expires_at},
            where=~self._live(now),
        ).returning(table.key)
        with self._connection() as connection:
            stored = connection.execute(stmt).first() is not None
            self._maybe_sweep(connection, now)
        return stored

    def delete(self, key: str) -> None:
        with self._connection() as connection:
            connection.execute(delete(KvEntry).where(KvEntry.key == key))

    def incr(self, key: str, ttl_seconds: float | None = None) -> int:
        now = self._clock()
        table = KvEntry.__table__.c
        expires_at = self._expiry(now, ttl_seconds)
        stmt = self._insert({"key": key, "value": None, "counter": 1, "expires_at": expires_at})
        expired = ~self._live(now)
        # One statement, so two processes counting at once never both read the old value.
        # Like RedisStore: the window starts with the first increment and later ones keep it.
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "value": None,
                "counter": case((expired, 1), else_=sql_func.coalesce(table.counter, 0) + 1),
                "expires_at": case((expired, stmt.excluded.expires_at), else_=table.expires_at),
            },
        ).returning(table.counter)
        with self._connection() as connection:
            count = connection.execute(stmt).scalar_one()
            self._maybe_sweep(connection, now)
        return int(count)

    def sweep(self) -> int:
        """Delete every expired row now; how many went."""
        with self._connection() as connection:
            return self._sweep(connection, self._clock())

    def _maybe_sweep(self, connection: Connection, now: datetime) -> None:
        if self._monotonic() - self._last_sweep >= SWEEP_INTERVAL_SECONDS:
            self._last_sweep = self._monotonic()
            self._sweep(connection, now)

    def _sweep(self, connection: Connection, now: datetime) -> int:
        table = KvEntry.__table__.c
        stmt = delete(KvEntry).where(table.expires_at.is_not(None), table.expires_at <= now)
        return matched_rows(connection.execute(stmt))

    def _insert(self, row: dict[str, Any]) -> Any:
        return insert_or_skip(self._engine.dialect.name, KvEntry).values(**row)


def bind_store_to_sessions(sessions: sessionmaker[Session]) -> None:
    """Make a ``DatabaseStore`` write inside the transaction of this factory's session
    that is open in the current thread, rather than on a connection of its own."""

    @event.listens_for(sessions, "after_begin")
    def _enter(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
        if transaction.parent is None and not session.info.get(_AMBIENT_KEY):
            session.info[_AMBIENT_KEY] = True
            live = tuple(ref for ref in _ambient.get() if ref() is not None)
            _ambient.set((*live, weakref.ref(session)))

    @event.listens_for(sessions, "after_transaction_end")
    def _leave(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and session.info.pop(_AMBIENT_KEY, False):
            _ambient.set(tuple(ref for ref in _ambient.get() if ref() not in (None, session)))
