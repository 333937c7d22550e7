"""The runtime: the resources one Kazi process shares (database, Redis, store, job queue).

The web app keeps its runtime in ``app.extensions["kazi"]``. Jobs run outside any
request, so they find it through ``current()``: the in-process runner activates its
app's runtime around each job, and the rq worker installs one for its process.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.settings import DEFAULT_SQLITE_PATH, Settings
from core.db import build_engine, build_sessionmaker
from core.dbstore import DatabaseStore, bind_store_to_sessions
from core.jobs import InProcessJobQueue, JobQueue, RqJobQueue, bind_jobs_to_sessions
from core.journal import JobJournal
from core.kvstore import KeyValueStore, RedisStore


@dataclass
class Runtime:
    """Everything long-lived that services, views, jobs and the CLI need."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: Redis | None
    store: KeyValueStore
    jobs: JobQueue
    extras: dict[str, Any] = field(default_factory=dict)  # providers, added by their packages

    @contextmanager
    def activated(self) -> Iterator[Runtime]:
        """Make this runtime ``current()`` for the code inside the block (this thread only)."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


_current: ContextVar[Runtime | None] = ContextVar("kazi_runtime", default=None)
_process_default: Runtime | None = None


def build_runtime(settings: Settings) -> Runtime:
    """Connect nothing yet, but build every shared resource the settings call for."""
    if settings.database_url is None:
        DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings.sqlalchemy_url)
    sessions = build_sessionmaker(engine)
    redis: Redis | None = None
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        redis=redis,
        # Without Redis the store is a table, so every process and a restart see one state.
        store=RedisStore(redis) if redis else DatabaseStore(engine),
        jobs=None,  # type: ignore[arg-type]  # set just below; it needs the runtime itself
    )
    # Without Redis, jobs run in this process but are journalled in the database, so a
    # job a dead or restarted process held is adopted by a live one (core.journal).
    runtime.jobs = (
        RqJobQueue(redis) if redis else InProcessJobQueue(runtime.activated, JobJournal(engine))
    )
    bind_jobs_to_sessions(sessions, runtime.jobs)
    if redis is None:
        bind_store_to_sessions(sessions)
    return runtime


def install(runtime: Runtime) -> None:
    """Make ``runtime`` this process's default (the rq worker's), fork-safe."""
    global _process_default
    _process_default = runtime
    engine_ref = weakref.ref(runtime.engine)

    def _dispose_in_child() -> None:
        # A forked work horse must not share the parent's database connections.
        engine = engine_ref()
        if engine is not None:
            engine.dispose(close=False)

    os.register_at_fork(after_in_child=_dispose_in_child)


def current() -> Runtime:
    """The runtime of the code now running: the activated one, else the process default."""
    runtime = _current.get() or _process_default
    if runtime is None:
        raise RuntimeError("no Kazi runtime: run jobs through `flask --app wsgi worker`")
    return runtime
