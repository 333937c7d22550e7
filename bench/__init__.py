"""Kazi's speed goals as benchmarks: ``bash bench/run`` writes ``docs/benchmarks.md``."""
