"""The floor: the least a USSD hop can do on Kazi's stack, served like Kazi for comparison.

``gunicorn --config gunicorn.conf.py -w 4 bench.floor_app:app`` with ``DATABASE_URL``
and ``REDIS_URL`` set. Per hop: one Redis GET and SETEX (the session's state), one SQL
INSERT (the hop's row, in its own transaction), and a ``CON`` screen shaped like Kazi's,
so bench/ussd_sessions.lua walks it exactly as it walks Kazi. Whatever Kazi costs above
this is Kazi's own work; bench/http_load.py reports the ratio.
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from redis import Redis
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, insert

from core.db import build_engine

metadata = MetaData()
#: One row per hop; created by bench/http_load.py before the floor is served.
floor_hops = Table(
    "floor_hops",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", String(100), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("text", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)

#: How long a session's state lives in Redis, as Kazi keeps a USSD session's flow state.
STATE_SECONDS = 180


def _screen(text: str) -> str:
    """The screen for the inputs so far: menu, a task, then "Saved!" and the next task."""
    if not text:
        return "CON Kazi: paid short tasks\n1 Get task\n2 My earnings"
    task = "Review 7: the food was fine and the service quick.\n1 Positive\n2 Negative"
    if "*" not in text:
        return f"CON {task}"
    return f"CON Saved! +KES 1.00\n{task}"


def create_floor_app(database_url: str, redis_url: str) -> Flask:
    """The floor app on this database and Redis."""
    app = Flask(__name__)
    engine = build_engine(database_url)
    redis = Redis.from_url(redis_url)

    @app.post("/webhooks/africastalking/ussd")
    def hop() -> Response:
        session_id = request.form.get("sessionId", "")
        phone = request.form.get("phoneNumber", "")
        text = request.form.get("text", "")
        key = f"floor:{session_id}"
        hops = int(redis.get(key) or 0) + 1
        redis.setex(key, STATE_SECONDS, hops)
        with engine.begin() as connection:
            connection.execute(
                insert(floor_hops).values(session_id=session_id, phone=phone, text=text[:200])
            )
        return Response(_screen(text), mimetype="text/plain")

    return app


def _from_env() -> Flask | None:
    url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    return create_floor_app(url, redis_url) if url and redis_url else None


# gunicorn's entry point; importing the module without the environment builds nothing.
app = _from_env()
