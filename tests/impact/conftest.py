"""Fixtures of the impact tests: the gateway's app with a project of tasks and gold."""

from __future__ import annotations

from tests.gateway.conftest import kazi

__all__ = ["kazi"]
