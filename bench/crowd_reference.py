"""crowd-kit's majority vote and Dawid-Skene on a crowd saved by bench/crowd.py; prints JSON.

Runs under the benchmark's own environment (.venv-bench, with crowd-kit from
bench/requirements-reference.txt), never Kazi's: it imports nothing from Kazi.
Usage: .venv-bench/bin/python bench/crowd_reference.py CROWD.npz
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc

import numpy as np

# Installed only in .venv-bench, so the project's type check (in .venv) cannot see them.
import pandas as pd  # type: ignore[import-untyped]
from crowdkit.aggregation import DawidSkene, MajorityVote  # type: ignore[import-not-found]


def main(path: str) -> None:
    """Time both methods on the saved crowd and print one JSON row per method."""
    data = np.load(path)
    frame = pd.DataFrame({"task": data["t"], "worker": data["w"], "label": data["lab"]})
    truth = data["truth"]
    rows = []
    # crowd-kit's defaults: Dawid-Skene with at most 100 rounds and tol 1e-5.
    for name, model in (("majority vote", MajorityVote()), ("Dawid-Skene", DawidSkene())):
        began = time.perf_counter()
        labels = model.fit_predict(frame)
        seconds = time.perf_counter() - began
        # A second, untimed run under tracemalloc, as Kazi's are measured.
        tracemalloc.start()
        model.fit_predict(frame)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        accuracy = float((labels.sort_index().to_numpy() == truth).mean())
        rows.append(
            {
                "library": "crowd-kit",
                "method": name,
                "seconds": seconds,
                "peak_mib": peak / 2**20,
                "accuracy": accuracy,
            }
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main(sys.argv[1])
