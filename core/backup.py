"""Backups of Kazi's database while it serves: SQLite's online backup API, or pg_dump.

SQLite copies page by page under its own locks, so the copy is a consistent snapshot
even while other processes write (https://www.sqlite.org/backup.html). A restore runs
the same API the other way, into the live file: serving processes see the restored
data on their next transaction. PostgreSQL is dumped and restored by its own tools
(https://www.postgresql.org/docs/current/app-pgdump.html), in their custom format.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore could not run; the message says why in one line."""


def backup(engine: Engine, path: Path) -> None:
    """Write a consistent copy of the database behind ``engine`` to ``path``."""
    if engine.dialect.name == "sqlite":
        _sqlite_copy(_sqlite_file(engine), path)
    else:
        _pg_tool("pg_dump", "--format=custom", "--no-owner", f"--file={path}", _libpq_url(engine))


def restore(engine: Engine, path: Path) -> None:
    """Replace the database behind ``engine`` with the backup at ``path``."""
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    if engine.dialect.name == "sqlite":
        _sqlite_copy(path, _sqlite_file(engine))
    else:
        args = ("--clean", "--if-exists", "--no-owner", "--single-transaction")
        _pg_tool("pg_restore", *args, f"--dbname={_libpq_url(engine)}", str(path))
    engine.dispose()  # pooled connections must not keep a picture of the old schema


def _sqlite_file(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        # Pages in steps, so a long copy lets writers in between (the default copies at once).
        src.backup(dst, pages=1024)
    except sqlite3.Error as error:
        raise BackupError(f"sqlite backup {source} -> {target}: {error}") from error
    finally:
        dst.close()
        src.close()


def _libpq_url(engine: Engine) -> str:
    # pg_dump takes a libpq URI: the driver name ("+psycopg") is SQLAlchemy's alone.
    url = make_url(engine.url.render_as_string(hide_password=False))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(tool: str, *args: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed: see the README's PostgreSQL backup recipe")
    done = subprocess.run([tool, *args], capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip().splitlines()[-1:]}")
