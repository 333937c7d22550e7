"""The database key-value store keeps the store's contract across processes, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, func, select

from core.db import build_engine, build_sessionmaker
from core.dbstore import SWEEP_INTERVAL_SECONDS, DatabaseStore, KvEntry, bind_store_to_sessions


class Clock:
    """A wall clock and a monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
        self.ticks = 0.0

    def wall(self) -> datetime:
        return self.now

    def mono(self) -> float:
        return self.ticks

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.ticks += seconds


@pytest.fixture
def kv_engine(committed_url: str) -> Iterator[Engine]:
    engine = build_engine(committed_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(kv_engine: Engine, clock: Clock) -> DatabaseStore:
    return DatabaseStore(kv_engine, clock=clock.wall, monotonic=clock.mono)


def test_values_expire_and_two_stores_on_one_database_see_each_other(
    store: DatabaseStore, committed_url: str, clock: Clock
) -> None:
    store.set("flow", b"state-1", ttl_seconds=10)
    other_engine = build_engine(committed_url)  # as another process would
    try:
        other = DatabaseStore(other_engine, clock=clock.wall)
        assert other.get("flow") == b"state-1"
        other.set("flow", b"state-2", ttl_seconds=10)
        assert store.get("flow") == b"state-2"
    finally:
        other_engine.dispose()
    clock.advance(11)
    assert store.get("flow") is None
    store.set("forever", b"x")
    clock.advance(10**6)
    assert store.get("forever") == b"x"
    store.delete("forever")
    assert store.get("forever") is None


def test_set_if_absent_takes_an_expired_key_and_refuses_a_live_one(
    store: DatabaseStore, clock: Clock
) -> None:
    assert store.set_if_absent("lock", b"a", ttl_seconds=5) is True
    assert store.set_if_absent("lock", b"b", ttl_seconds=5) is False
    assert store.get("lock") == b"a"
    clock.advance(6)
    assert store.set_if_absent("lock", b"c", ttl_seconds=5) is True
    assert store.get("lock") == b"c"


def test_incr_counts_within_the_first_window_then_starts_again(
    store: DatabaseStore, clock: Clock
) -> None:
    assert [store.incr("hits", ttl_seconds=10) for _ in range(3)] == [1, 2, 3]
    clock.advance(5)
    assert store.incr("hits", ttl_seconds=10) == 4  # later increments do not extend the window
    assert store.get("hits") == b"4"
    clock.advance(6)
    assert store.incr("hits", ttl_seconds=10) == 1


def test_concurrent_increments_from_many_threads_lose_none(
    kv_engine: Engine, store: DatabaseStore
) -> None:
    threads = [
        threading.Thread(target=lambda: [store.incr("many") for _ in range(10)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("many") == b"80"


def test_a_write_runs_in_the_open_session_transaction_and_rolls_back_with_it(
    kv_engine: Engine, store: DatabaseStore
) -> None:
    sessions = build_sessionmaker(kv_engine)
    bind_store_to_sessions(sessions)
    with sessions.begin() as session:
        session.execute(select(1))
        # On SQLite a second connection would wait here for the session's own write lock.
        session.execute(delete(KvEntry).where(KvEntry.key == "nothing"))
        store.set("inside", b"1")
        assert store.get("inside") == b"1"
    assert store.get("inside") == b"1"
    with pytest.raises(ZeroDivisionError), sessions.begin() as session:
        session.execute(select(1))  # the transaction has its connection
        store.set("doomed", b"1")
        raise ZeroDivisionError
    assert store.get("doomed") is None


def test_expired_rows_are_swept_by_a_later_write(
    kv_engine: Engine, store: DatabaseStore, clock: Clock
) -> None:
    for n in range(5):
        store.set(f"old{n}", b"x", ttl_seconds=1)
    store.set("keep", b"x")
    clock.advance(SWEEP_INTERVAL_SECONDS + 1)
    store.set("new", b"y", ttl_seconds=100)
    with kv_engine.connect() as connection:
        keys = set(connection.scalars(select(KvEntry.key)))
        total = connection.scalar(select(func.count()).select_from(KvEntry))
    assert keys == {"keep", "new"} and total == 2
    assert store.sweep() == 0
