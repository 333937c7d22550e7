"""No PIN and no webhook token at rest or in sight, after real journeys through the webhooks.

A worker registers over USSD (a PIN entered twice), works, withdraws over USSD, then
twice by SMS (``PAY 10 <PIN>``, and ``PAY`` answered screen by screen); payouts go to
the Daraja emulator over HTTP and its callbacks come back to our token-guarded
webhooks. Then every table (reflected, every column), every captured log record, the
access log line gunicorn would write for every request, and every console page an
admin can open are searched for the PIN and the tokens.
"""

from __future__ import annotations

import logging
import re
import runpy
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from gunicorn.config import Config
from gunicorn.glogging import Logger
from sqlalchemy import MetaData, select

from console.models import OperatorRole
from console.services import create_operator
from core.kvstore import MemoryStore
from flows.inputs import USSD_MASK
from gateway import services
from gateway.inbound import InboundSms, UssdProgress, ussd_progress
from gateway.models import Message
from payouts.models import PayoutStatus
from tests.console.conftest import sign_in
from tests.emulators.daraja import DarajaEmulator
from tests.gateway.journeys import GOLD, PIN, REWARD, TASKS, Handset, payouts_of, quiz_key
from tests.gateway.payloads import load_form
from tests.gateway.web import (
    AT_TOKEN,
    events,
    messages,
    runtime_of,
    twilio_post,
    ussd_sessions,
)
from tests.payouts.conftest import WEBHOOK_TOKEN, Kazi, build_kazi, emulator
from tests.payouts.factories import wait_until
from tests.tasks import factories
from workers.models import Worker

PHONE = "+254722555001"
#: The PIN as a word of its own: a hex digest or a salt may hold the same four digits.
PIN_WORD = re.compile(rf"(?<![0-9A-Za-z]){PIN}(?![0-9A-Za-z])")
SECRETS = {
    "PIN": PIN_WORD,
    "AT token": re.compile(AT_TOKEN),
    "M-Pesa token": re.compile(WEBHOOK_TOKEN),
}
GUNICORN_CONF = Path(__file__).parents[2] / "gunicorn.conf.py"
__all__ = ["emulator"]  # the Daraja emulator fixture, shared with the payout tests


def _digest(text: str) -> str:
    return f"d({text})"


@pytest.mark.parametrize(
    ("full", "seen", "masked", "expected"),
    [
        ("", None, "", UssdProgress("", "")),
        ("1*2", None, "", UssdProgress("1*2", "")),  # a first dial carrying input
        ("1", "d()", "", UssdProgress("1", "")),
        ("5*3", "d()", "", UssdProgress("5*3", "")),  # one answer holding a "*"
        ("3*1*4821", "d(3*1)", "3*1", UssdProgress("4821", "3*1")),
        ("3*1*4821*1", "d(3*1*4821)", "3*1*####", UssdProgress("1", "3*1*####")),
        ("3*1", "d(3*1)", "3*1", UssdProgress("", "3*1")),  # a retried hop
        # Lost hops: every input not recognised is masked, one mask per input.
        ("3*1*4821*1", "d(9)", "9", UssdProgress("1", "####*####*####")),
    ],
)
def test_ussd_progress_finds_the_seen_part_by_its_digest(
    full: str, seen: str | None, masked: str, expected: UssdProgress
) -> None:
    assert ussd_progress(full, seen, masked, _digest) == expected


@pytest.fixture
def kazi(committed_url: str, emulator: DarajaEmulator) -> Iterator[Kazi]:
    """Kazi over HTTP paying through the emulator, with tasks, gold and the AT token set."""
    for kazi in build_kazi(committed_url, emulator, at_webhook_token=AT_TOKEN):
        with kazi.runtime.sessions.begin() as session:
            owner, _ = factories.requester(session)
            common: dict[str, Any] = {"reward": REWARD, "languages": ["en"]}
            factories.project(session, owner, texts=TASKS, priority=1, **common)
            factories.project(session, owner, name="Quiz", gold=GOLD, **common)
        yield kazi


def _recording(app: Flask) -> list[dict[str, Any]]:
    """Every WSGI environ the app serves from now on (test client and real HTTP alike)."""
    environs: list[dict[str, Any]] = []
    inner = app.wsgi_app

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environs.append(dict(environ))
        return inner(environ, start_response)

    app.wsgi_app = wsgi  # type: ignore[method-assign]  # a recording middleware
    return environs


def _journeys(kazi: Kazi) -> None:
    app = kazi.app
    phone = Handset(app, PHONE)
    phone.dial()
    phone.press("1")  # English
    phone.press("1")  # tasks in English only
    phone.press("1")  # accept the terms
    phone.press(PIN)
    phone.press(PIN)  # registered
    body = phone.press("2")  # the impact baseline skipped
    for _ in range(len(GOLD)):
        body = phone.press(quiz_key(body))  # qualified
    assert TASKS[0] in phone.press("1")
    assert TASKS[1] in phone.press("1")  # task one answered: KES 20 earned
    phone.press("00")
    phone.press("3")  # withdraw
    phone.press("1")  # all of it
    # The END screen: the handset posts AT's end-of-session notice, whose ``input``
    # holds every input of the session, the PIN among them (checked masked below).
    assert phone.press(PIN).startswith("END ")
    phone.dial()
    phone.press("1")
    phone.press("1")  # task two answered
    phone.press("1")  # task three answered: KES 40 now
    phone.sms(f"PAY 10 {PIN}")
    phone.sms("PAY")
    phone.sms("1")  # all of it
    phone.sms(PIN)  # the answer to the PIN screen, by SMS
    wait_until(lambda: len(payouts_of(app, PHONE)) == 3)
    wait_until(lambda: all(p.status is PayoutStatus.SETTLED for p in payouts_of(app, PHONE)), 30)
    kazi.emulator.join_callbacks()


def _found(text: str) -> list[str]:
    return [name for name, pattern in SECRETS.items() if pattern.search(text)]


def _rows_with_secrets(kazi: Kazi) -> list[str]:
    metadata = MetaData()
    metadata.reflect(kazi.runtime.engine)
    hits = []
    with kazi.runtime.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in row._mapping.items():
                    for name in _found(str(value)):
                        hits.append(f"{table.name}.{column}: {name} in {str(value)[:120]!r}")
    return hits


def _access_lines(environs: list[dict[str, Any]]) -> list[str]:
    """The line gunicorn would log for each request, with our gunicorn.conf.py."""
    config = Config()
    config.set("access_log_format", runpy.run_path(str(GUNICORN_CONF))["access_log_format"])
    logger = Logger(config)
    response = SimpleNamespace(status="200 OK", headers=[], sent=2)
    lines = []
    for environ in environs:
        query = environ.get("QUERY_STRING")
        raw_uri = environ["PATH_INFO"] + (f"?{query}" if query else "")
        atoms = logger.atoms(response, [], {**environ, "RAW_URI": raw_uri}, timedelta(0))
        lines.append(config.access_log_format % logger.atoms_wrapper_class(atoms))
    return lines


def _console_pages(kazi: Kazi) -> dict[str, str]:
    """Every console page an admin can GET, once per worker where a page takes one."""
    app = kazi.app
    with kazi.runtime.sessions.begin() as session:
        operator, password = create_operator(session, "admin@example.org", OperatorRole.ADMIN)
        email = operator.email
        workers = [(w.id, w.msisdn) for w in session.scalars(select(Worker))]
    client = app.test_client()
    assert sign_in(client, email, password).status_code == 302
    pages: dict[str, str] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or "GET" not in (rule.methods or ()):
            continue
        if "filename" in rule.arguments:
            continue  # static files
        if "worker_id" in rule.arguments:
            urls = [rule.rule.replace("<int:worker_id>", str(wid)) for wid, _ in workers]
        else:
            urls = [rule.rule, *(f"{rule.rule}?phone={number}" for _, number in workers)]
        for url in urls:
            response = client.get(url)
            assert response.status_code < 500, url
            pages[url] = response.get_data(as_text=True)
    assert any(PHONE in page for page in pages.values()), "the walk saw no page of the worker"
    return pages


def test_no_pin_or_token_in_any_table_log_or_console_page(
    kazi: Kazi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    environs = _recording(kazi.app)
    _journeys(kazi)

    assert _rows_with_secrets(kazi) == []
    first, _ = ussd_sessions(kazi.app)
    # Registration (the PIN twice) and the withdrawal: three masked inputs, in their places.
    assert first.seen_text.split("*").count(USSD_MASK) == 3
    assert first.seen_text.split("*")[:5] == ["1", "1", "1", USSD_MASK, USSD_MASK]
    [end] = [e for e in events(kazi.app) if e.kind == "ussd_end"]
    assert end.payload["input"] == first.seen_text
    logged = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("/webhooks/payouts/b2c/result" in line for line in logged), "no request log seen"
    assert [line for line in logged if _found(line)] == []
    lines = _access_lines(environs)
    assert any("/webhooks/africastalking/sms" in line for line in lines)
    assert any("token=" in e.get("QUERY_STRING", "") for e in environs)  # tokens were sent
    assert [line for line in lines if _found(line)] == []
    pages = _console_pages(kazi)
    assert [url for url, page in pages.items() if _found(page)] == []


def test_a_twilio_pay_sms_is_stored_and_recorded_masked(web: Flask) -> None:
    form = {**load_form("twilio_sms_inbound.form"), "Body": f"PAY 10 {PIN}"}
    assert twilio_post(web.test_client(), "sms", form).status_code == 200
    [message] = [m for m in messages(web) if m.direction == "in"]
    assert message.body == "PAY 10 ****"
    [event] = [e for e in events(web) if e.kind == "sms"]
    assert event.payload["Body"] == "PAY 10 ****"
    assert event.payload["MessageSid"] == form["MessageSid"]  # the rest as it arrived


def test_the_clear_text_waits_only_in_the_store_read_once_and_expiring(web: Flask) -> None:
    clock = [0.0]
    store = MemoryStore(clock=lambda: clock[0])

    def stored(provider_id: str) -> Message:
        sms = InboundSms(
            provider="africastalking",
            provider_message_id=provider_id,
            sender="+254722555009",
            recipient="22384",
            text=f"PAY 10 {PIN}",
            received_at=None,
        )
        with runtime_of(web).sessions.begin() as session:
            message = services.store_inbound_sms(session, sms, default_language="en", store=store)
            assert message is not None
            return message

    first, second = stored("at-1"), stored("at-2")
    assert first.body == second.body == "PAY 10 ****"
    clock[0] = services.RAW_SMS_TTL.total_seconds() - 1
    assert services.inbound_text(store, first) == f"PAY 10 {PIN}"
    assert services.inbound_text(store, first) == "PAY 10 ****"  # read once, then gone
    clock[0] = services.RAW_SMS_TTL.total_seconds()
    assert services.inbound_text(store, second) == "PAY 10 ****"  # expired unread
