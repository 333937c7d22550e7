"""``python -m bench``: run every benchmark and write docs/benchmarks.md."""

from __future__ import annotations

from bench.main import main

raise SystemExit(main())
