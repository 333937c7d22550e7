"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify
from redis import Redis
from sqlalchemy import text

from core.runtime import Runtime

bp = Blueprint("health", __name__)
log = logging.getLogger("kazi.health")


@bp.get("/healthz")
def healthz() -> Any:
    """The process is alive and serving."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    """The database and Redis answer; 503 naming what is down otherwise."""
    runtime: Runtime = current_app.extensions["kazi"]
    checks = {"database": _database_ok(runtime)}
    if runtime.redis is not None:
        checks["redis"] = _redis_ok(runtime.redis)
    down = sorted(name for name, ok in checks.items() if not ok)
    body = {"status": "unavailable" if down else "ok", "checks": checks, "down": down}
    return jsonify(body), 503 if down else 200


def _database_ok(runtime: Runtime) -> bool:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception as error:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness: database unreachable: %s", error)
        return False


def _redis_ok(redis: Redis) -> bool:
    try:
        return bool(redis.ping())
    except Exception as error:
        log.warning("readiness: redis unreachable: %s", error)
        return False
