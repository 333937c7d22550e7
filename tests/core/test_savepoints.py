"""A savepoint is part of its transaction on both databases: rolled back with it.

Python's sqlite3 (3.11, legacy transaction control) opens a transaction only before
an INSERT, UPDATE or DELETE, so a SAVEPOINT after reads alone used to open the
transaction itself, and its RELEASE committed it: what the savepoint wrote outlived
a rollback of the whole (https://docs.python.org/3.11/library/sqlite3.html#sqlite3-controlling-transactions).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import build_engine, build_sessionmaker
from tasks.models import Requester
from tasks.requesters import create_requester


class Refused(Exception):
    pass


def test_a_released_savepoint_rolls_back_with_its_transaction(committed_url: str) -> None:
    engine = build_engine(committed_url)
    sessions = build_sessionmaker(engine)
    try:
        with sessions() as session:
            before = session.scalar(select(func.count()).select_from(Requester))
        with pytest.raises(Refused), sessions.begin() as session:
            session.scalar(select(func.count()).select_from(Requester))  # reads first
            with session.begin_nested():
                create_requester(session, "Savepoint Ltd")
            raise Refused  # the request fails after the savepoint was released
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Requester)) == before
    finally:
        engine.dispose()
