"""Migration 0009 masks the PINs that older rows hold, and adds the PIN-lock columns."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from core.db import build_engine
from core.migrate import upgrade
from tests.conftest import fresh_database_url

NOW = "2026-01-01 00:00:00"
MASK = "####"  # in a USSD session's text
_MESSAGE = (
    "INSERT INTO messages (id, direction, channel, provider, phone, body, status, segments,"
    " attempts, created_at, updated_at) VALUES"
    " (:id, :direction, 'sms', 'africastalking', '+254711000001', :body, 'received', 1, 1,"
    " :now, :now)"
)
ROWS: list[tuple[str, dict[str, object]]] = [
    (_MESSAGE, {"id": 1, "direction": "in", "body": "PAY 10 4821"}),
    (_MESSAGE, {"id": 2, "direction": "in", "body": "4821"}),
    (_MESSAGE, {"id": 3, "direction": "in", "body": "2"}),
    (_MESSAGE, {"id": 4, "direction": "in", "body": "pay 4821"}),
    (_MESSAGE, {"id": 5, "direction": "out", "body": "Ref 4821"}),  # ours: nothing to mask
    (
        "INSERT INTO ussd_sessions (id, provider, session_id, phone, service_code, seen_text,"
        " hops, started_at) VALUES (1, 'africastalking', 'ATUid_1', '+254711000001',"
        " '*384*12#', '1*1*4821*4821*3*1*4821', 7, :now)",
        {},
    ),
    (
        "INSERT INTO webhook_events (id, source, kind, external_id, payload, received_at)"
        " VALUES (1, 'africastalking', 'sms', 'x1', :sms, :now),"
        " (2, 'africastalking', 'ussd_end', 'ATUid_1', :end, :now),"
        " (3, 'africastalking', 'delivery', 'x2', :delivery, :now)",
        {
            "sms": json.dumps({"from": "+254711000001", "text": "PAY 10 4821"}),
            "end": json.dumps({"sessionId": "ATUid_1", "input": "3*1*4821"}),
            "delivery": json.dumps({"id": "x2", "status": "4821"}),
        },
    ),
]


def test_old_pins_are_masked_and_the_rest_kept(db_kind: str, tmp_path: Path) -> None:
    url = fresh_database_url(db_kind, tmp_path, "upgrade0009")
    upgrade(url, "0008")
    engine = build_engine(url)
    try:
        with engine.begin() as connection:
            for statement, values in ROWS:
                connection.execute(text(statement), {"now": NOW, **values})
        upgrade(url, "0009")
        with engine.connect() as connection:
            bodies = connection.execute(text("SELECT body FROM messages ORDER BY id")).scalars()
            assert list(bodies) == ["PAY 10 ****", "****", "2", "pay ****", "Ref 4821"]
            seen = connection.execute(text("SELECT seen_text FROM ussd_sessions")).scalar()
            assert seen == "*".join(["1", "1", MASK, MASK, "3", "1", MASK])
            payloads = connection.execute(
                text("SELECT payload FROM webhook_events ORDER BY id")
            ).scalars()
            decoded = [p if isinstance(p, dict) else json.loads(p) for p in payloads]
            assert decoded[0]["text"] == "PAY 10 ****"
            assert decoded[1]["input"] == "*".join(["3", "1", MASK])
            assert decoded[2]["status"] == "4821"
            level = connection.execute(text("SELECT pin_lock_level FROM workers")).all()
            assert level == []
    finally:
        engine.dispose()
