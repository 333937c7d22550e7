"""``python -m flows``: lint every flow and catalog (what ``flask flows check`` will run)."""

from __future__ import annotations

from flows.check import main

raise SystemExit(main())
