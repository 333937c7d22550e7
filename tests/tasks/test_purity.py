"""The pure tasks modules must not pull in web, database, queue or network libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PURE = [
    "tasks.errors",
    "tasks.quality",
    "tasks.aggregation",
    "tasks.answers",
    "tasks.screens",
]
FORBIDDEN = {
    "flask",
    "sqlalchemy",
    "redis",
    "rq",
    "requests",
    "psycopg",
    "twilio",
    "africastalking",
}


def test_pure_modules_import_no_io_libraries() -> None:
    # A fresh interpreter, so modules imported by other tests do not mask a leak.
    code = (
        "import importlib, sys\n"
        f"for name in {PURE!r}: importlib.import_module(name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    loaded = set(out.stdout.split())
    assert "numpy" in loaded  # proves the probe saw the imports at all
    assert loaded & FORBIDDEN == set()
