"""Loading the provider sample payloads (``*.form`` and ``*.json``) for table tests.

The files are copied from the shared reference folder (``../shared/reference/payloads``
next to the repository) into ``tests/fixtures/payloads`` so the suite never depends
on a folder outside the repository; ``test_fixture_copies_match_reference`` notices
when the two drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "payloads"


def _find_reference() -> Path:
    """The shared payload folder: ../shared next to the repository root.

    A git worktree may sit one level deeper (``/work/wt/<name>``) than the main
    clone (``/work/main``), so look in each ancestor's ``shared`` folder.
    """
    for ancestor in REPO_ROOT.parents:
        candidate = ancestor / "shared" / "reference" / "payloads"
        if candidate.is_dir():
            return candidate
    return REPO_ROOT.parent / "shared" / "reference" / "payloads"


REFERENCE = _find_reference()


def form_pairs(name: str) -> list[tuple[str, str]]:
    """The decoded key/value pairs of a ``.form`` file, in file order."""
    pairs = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        # Split on the FIRST "=" only: values may contain "=", "*", "#", "+", spaces.
        key, sep, value = line.partition("=")
        assert sep, f"{name}: line without '=': {line!r}"
        pairs.append((key, value))
    return pairs


def load_form(name: str) -> dict[str, str]:
    """A ``.form`` file as the mapping Flask's ``request.form`` would give."""
    return dict(form_pairs(name))


def load_json(name: str) -> Any:
    """A ``.json`` payload file, parsed."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))
