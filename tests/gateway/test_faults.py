"""Faults behind the webhooks: Redis down and back, PostgreSQL connections lost, Twilio down.

The worker on a live USSD screen always gets a clean ``END`` in their language, an
inbound SMS is never lost while Redis is away, nothing half-written survives a lost
database connection, and everything recovers without restarting Kazi.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests
import responses
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from gateway.errors import TemporarySendError
from gateway.jobs import send_message
from gateway.models import Direction, Message, UssdSession
from gateway.outbound import send_sms
from tests.conftest import POSTGRES_ADMIN_URL
from tests.gateway.journeys import registered, t
from tests.gateway.test_send_job import TWILIO_API, TWILIO_SID
from tests.gateway.web import at_url, close_app, gateway_app, runtime_of
from tests.support.redis_server import RedisServer
from workers.models import Worker


def hop(app: Flask, phone: str, session_id: str, text: str = "") -> tuple[int, str]:
    form = {"sessionId": session_id, "serviceCode": "*384*12#", "phoneNumber": phone}
    response = app.test_client().post(at_url("ussd"), data={**form, "text": text})
    return response.status_code, response.get_data(as_text=True)


def inbound_sms(app: Flask, phone: str, text: str, message_id: str) -> int:
    form = {"from": phone, "to": "22384", "text": text, "id": message_id}
    form |= {"date": "2026-12-02 02:00:00", "linkId": "l-" + message_id}
    status: int = app.test_client().post(at_url("sms"), data=form).status_code
    return status


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_redis_down_a_hop_apologises_in_the_workers_language_and_recovers(
    committed_url: str, redis_server: RedisServer
) -> None:
    app = gateway_app(committed_url, redis_url=redis_server.url)
    registered(app, "+254766000001", "sw")
    assert hop(app, "+254766000001", "s-1")[1].startswith("CON ")
    redis_server.stop()

    started = time.monotonic()
    status, body = hop(app, "+254766000001", "s-2")
    elapsed = time.monotonic() - started
    assert (status, body) == (200, "END " + t("error.sorry", "sw"))
    assert elapsed < 1.0, f"the apology took {elapsed:.2f}s"
    # An SMS arriving meanwhile is stored (its reply job could not be queued: the
    # provider got its 200, and the row is there to answer once Redis is back).
    assert inbound_sms(app, "+254766000001", "BAL", "ATXid_fault_1") == 200
    # Without the store nobody knows whether a PIN screen waits: a PIN-shaped text is
    # stored masked (still stored), and PAY keeps its amount only.
    assert inbound_sms(app, "+254766000001", "4821", "ATXid_fault_2") == 200
    assert inbound_sms(app, "+254766000001", "PAY 10 4821", "ATXid_fault_3") == 200
    with runtime_of(app).sessions() as session:
        stored = session.scalars(
            select(Message).where(Message.direction == Direction.INBOUND).order_by(Message.id)
        )
        assert [m.body for m in stored] == ["BAL", "****", "PAY 10 ****"]

    redis_server.start()  # the same port: Redis is back, Kazi was never restarted
    status, body = hop(app, "+254766000001", "s-3")
    assert status == 200 and body.startswith("CON "), body
    runtime_of(app).engine.dispose()


# -- PostgreSQL -----------------------------------------------------------------------


def _admin() -> psycopg.Connection[Any]:
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def _terminate_all(database: str) -> int:
    """End every connection to the test database, as a database restart would."""
    with _admin() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def _allow_connections(database: str, allowed: bool) -> None:
    with _admin() as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')


@pytest.fixture
def pg_app(committed_url: str) -> Iterator[Flask]:
    app = gateway_app(committed_url)
    yield app
    _allow_connections(runtime_of(app).engine.url.database or "", True)
    close_app(app)


@pytest.mark.postgres
@pytest.mark.parametrize("db_kind", ["postgresql"])  # SQLite is a file: no connection to lose
def test_lost_postgres_connections_are_replaced_by_the_pool(pg_app: Flask) -> None:
    registered(pg_app, "+254766000002")
    assert hop(pg_app, "+254766000002", "p-1")[1].startswith("CON ")
    database = runtime_of(pg_app).engine.url.database or ""
    assert _terminate_all(database) >= 1  # the pool's idle connections are now dead
    # pool_pre_ping notices the dead connection and opens a fresh one: no error at all.
    assert hop(pg_app, "+254766000002", "p-2")[1].startswith("CON ")


@pytest.mark.postgres
@pytest.mark.parametrize("db_kind", ["postgresql"])  # SQLite is a file: no connection to lose
def test_during_a_postgres_outage_requests_fail_cleanly_and_then_recover(pg_app: Flask) -> None:
    registered(pg_app, "+254766000003", "fr")
    assert hop(pg_app, "+254766000003", "o-1")[1].startswith("CON ")
    database = runtime_of(pg_app).engine.url.database or ""
    _allow_connections(database, False)
    _terminate_all(database)

    status, body = hop(pg_app, "+254766000003", "o-2")
    # The database is gone, so the worker's language is unknown: the default language.
    assert (status, body) == (200, "END " + t("error.sorry", "en"))
    # A webhook answers 5xx so that the provider delivers it again later.
    assert inbound_sms(pg_app, "+254766000003", "BAL", "ATXid_outage") >= 500

    _allow_connections(database, True)
    assert hop(pg_app, "+254766000003", "o-3")[1].startswith("CON ")
    assert inbound_sms(pg_app, "+254766000003", "BAL", "ATXid_outage") == 200  # the retry
    with runtime_of(pg_app).sessions() as session:
        inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND))
        assert [m.body for m in inbound] == ["BAL"]


@pytest.mark.postgres
@pytest.mark.parametrize("db_kind", ["postgresql"])  # SQLite is a file: no connection to lose
def test_a_connection_lost_mid_hop_leaves_nothing_half_written(pg_app: Flask) -> None:
    engine = runtime_of(pg_app).engine
    killed: list[int] = []

    def kill_before_session_insert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The hop has created the worker (first contact) and now stores its USSD session:
        # the connection dies between the two writes of one transaction.
        if statement.startswith("INSERT INTO ussd_sessions") and not killed:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            killed.append(pid)
            with _admin() as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    event.listen(engine, "before_cursor_execute", kill_before_session_insert)
    try:
        status, body = hop(pg_app, "+254766000004", "m-1")
    finally:
        event.remove(engine, "before_cursor_execute", kill_before_session_insert)
    assert killed and status == 200 and body == "END " + t("error.sorry", "en")
    with runtime_of(pg_app).sessions() as session:
        assert session.scalars(select(Worker).where(Worker.msisdn == "+254766000004")).all() == []
        assert session.scalars(select(UssdSession)).all() == []
    # The provider's retry of the same hop then works from a clean slate.
    assert hop(pg_app, "+254766000004", "m-1")[1].startswith("CON ")


# -- provider outages -----------------------------------------------------------------


REFUSED = (
    "HTTPSConnectionPool(host='api.twilio.com', port=443): Max retries exceeded (Caused by"
    " NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))"
)


@pytest.mark.redis
@responses.activate
@pytest.mark.parametrize(
    "outage",
    [
        {"body": "Service Unavailable", "status": 503},
        # requests' own words for a refused connection: nothing reached Twilio.
        {"body": requests.ConnectionError(REFUSED)},
    ],
    ids=["503", "refused"],
)
def test_a_twilio_outage_is_retried_and_the_message_sent_once_after_recovery(
    committed_url: str, redis_client: Any, redis_url: str, outage: dict[str, Any]
) -> None:
    app = gateway_app(
        committed_url,
        redis_url=redis_url,  # the send job waits in rq, so only this test runs it
        sms_provider="twilio",
        twilio_account_sid=TWILIO_SID,
        twilio_from_number="+15550100123",
    )
    runtime = runtime_of(app)
    responses.post(TWILIO_API, **outage)
    with runtime.sessions.begin() as session:
        message = send_sms(session, phone="0711000222", body="Habari", provider="twilio")
    with runtime.activated(), pytest.raises(TemporarySendError):
        send_message(message.id)  # rq's Retry on the job (+5, +10 min) schedules the next one
    created = {"sid": "SM000000000000000000000000000000c1", "status": "queued"}
    responses.replace(responses.POST, TWILIO_API, json=created, status=201)
    with runtime.activated():
        send_message(message.id)  # the retry, once Twilio is back
        send_message(message.id)  # rq delivering the job again: nothing is resent
    assert len(responses.calls) == 2  # the failed attempt and the one that went through
    with runtime.sessions() as session:
        stored = session.get_one(Message, message.id)
    assert (stored.status, stored.attempts, stored.provider_message_id) == (
        "accepted",
        2,
        created["sid"],
    )
    runtime.engine.dispose()
