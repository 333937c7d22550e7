"""The database layer every domain shares: one declarative Base, column types, engines.

Domain packages declare their tables in their own ``models.py`` on this ``Base``;
the wiring package's ``kazi.tables`` imports them all, so Alembic and the tests see
one metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    Enum,
    Integer,
    MetaData,
    Result,
    String,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations name the same thing on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind Kazi stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use core.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")

# BIGINT keys on PostgreSQL (millions of messages a day); SQLite only auto-increments
# a column declared exactly INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

intpk = Annotated[int, mapped_column(BigIntId, primary_key=True)]
created_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow)]
updated_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)]
timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
# Money is always integer minor units beside a 3-letter ISO 4217 currency code.
money_minor = Annotated[int, mapped_column(BigInteger())]
currency_code = Annotated[str, mapped_column(String(3))]
msisdn = Annotated[str, mapped_column(String(16))]  # E.164: '+' and at most 15 digits


class Base(DeclarativeBase):
    """The declarative base of every Kazi table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[str]: JSONType}


def build_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for the URL with Kazi's per-database settings."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "savepoint", _begin_before_savepoint)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web process read while the in-process job runner writes;
    # foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_before_savepoint(connection: Connection, _name: str | None) -> None:
    # Python's sqlite3 (legacy transaction control, Python 3.11) opens a transaction
    # only before an INSERT, UPDATE or DELETE. A SAVEPOINT after reads alone would open
    # one itself, and its RELEASE would commit it, so what the savepoint wrote would
    # outlive a rollback of the whole. Opening the transaction here makes the savepoint
    # nested, as on PostgreSQL; a deferred BEGIN takes no lock until the next write.
    # https://docs.python.org/3.11/library/sqlite3.html#sqlite3-controlling-transactions
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


def build_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """The session factory used by web requests, jobs and the CLI alike."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def str_enum(enum_cls: type[StrEnum], length: int = 20) -> Enum:
    """A column type storing a StrEnum's values as plain strings (no native enum to migrate)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


_Row = TypeVar("_Row", bound=Base)


def lock_row(session: Session, model: type[_Row], row_id: int) -> _Row | None:
    """Load one row locked until the transaction ends (None if absent), on both databases.

    PostgreSQL takes a row lock (``SELECT ... FOR UPDATE``). SQLite has no row locks
    and serialises writers: a write of the row's own id takes the database write lock
    before the read (it also bumps an ``updated_at`` column, harmlessly), so a
    read-then-write can never act on a stale snapshot.
    """
    id_column = model.__table__.c.id  # the same SQL as ``model.id``, typed for any model
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(model).where(id_column == row_id).values(id=id_column))
    stmt = select(model).where(id_column == row_id).with_for_update()
    # populate_existing: a row already in the session is refreshed from the locked read.
    return session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()


def lock_existing(session: Session, model: type[_Row], row_id: int) -> _Row:
    """``lock_row`` for a row that must exist (rows of this kind are never deleted)."""
    row = lock_row(session, model, row_id)
    if row is None:
        raise LookupError(f"{model.__name__} {row_id} does not exist")
    return row


def matched_rows(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an executed UPDATE or DELETE matched (its guard let through).

    ``Session.execute`` is typed to answer a plain ``Result``; for DML without RETURNING
    it answers a ``CursorResult``, which carries ``rowcount`` (see SQLAlchemy's 2.0.44
    typing changelog: https://docs.sqlalchemy.org/en/20/changelog/changelog_20.html).
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def insert_or_skip(dialect_name: str, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` that can say ``ON CONFLICT``, in this dialect's spelling.

    Both databases have it (SQLite since 3.24, PostgreSQL since 9.5), and with RETURNING
    a conflict costs no savepoint: the statement simply returns no row.
    """
    if dialect_name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
