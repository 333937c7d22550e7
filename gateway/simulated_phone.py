"""A phone in the terminal: USSD hops and SMS posted to the real webhooks, as AT sends them.

The simulator talks to the app only through HTTP (Flask's test client on the app's
real routes, with the configured ``?token=``), so what it shows is what a handset on
Africa's Talking would get. SMS replies are the outbound Message rows for the phone,
read once the job runner has sent them.

Like AT, it tells the app when a session is over (the end-of-session notice:
``Success`` after an END screen, ``Incomplete`` for a hang-up on an open menu), and
``finish`` lets the jobs its hops queued run before the process exits: in this process
on the embedded queue, or in the rq worker, which already holds them, with Redis.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import select

from core.jobs import InProcessJobQueue
from core.phone import normalize_msisdn
from core.runtime import Runtime
from gateway.models import Direction, Message

#: How long an SMS reply is awaited when jobs run in rq (another process sends it).
REPLY_WAIT_SECONDS = 10.0

_ids = itertools.count(1)


@dataclass
class SimulatedPhone:
    """One handset: ``dial``/``press`` for USSD, ``sms`` for text messages."""

    app: Flask
    phone: str
    service_code: str = "*384*12#"
    network_code: str = "63902"
    session_id: str = ""
    text: str = ""  # what AT sends: every input of the session so far, joined by "*"
    ended: bool = True
    screens: list[str] = field(default_factory=list)
    last_message_id: int = 0
    hops: int = 0  # of the current session
    started: float = 0.0  # when the current session was dialled (monotonic seconds)

    def __post_init__(self) -> None:
        self.phone = normalize_msisdn(self.phone).e164
        self.last_message_id = self._newest_message_id()

    @property
    def runtime(self) -> Runtime:
        """The app's runtime (settings, sessions, jobs)."""
        return self.app.extensions["kazi"]

    def _url(self, path: str) -> str:
        token = self.runtime.settings.at_webhook_token
        return f"/webhooks/africastalking/{path}" + (
            f"?{urlencode({'token': token})}" if token else ""
        )

    # -- USSD -------------------------------------------------------------------------

    def dial(self, session_id: str | None = None) -> str:
        """Start a new USSD session (a fresh session id unless one is given)."""
        if not self.ended:
            self.hang_up()
        self.session_id = session_id or f"ATUid_sim_{uuid.uuid4().hex}"
        self.text = ""
        self.hops, self.started = 0, time.monotonic()
        return self._hop()

    def press(self, value: str) -> str:
        """Send one input on the current USSD session (dialling first if it ended)."""
        if self.ended:
            self.dial()
        self.text = f"{self.text}*{value}" if self.text else value
        return self._hop()

    def _hop(self) -> str:
        form = {
            "sessionId": self.session_id,
            "serviceCode": self.service_code,
            "phoneNumber": self.phone,
            "networkCode": self.network_code,
            "text": self.text,
        }
        response = self.app.test_client().post(self._url("ussd"), data=form)
        body = response.get_data(as_text=True)
        if response.status_code != 200:
            raise RuntimeError(f"USSD webhook answered {response.status_code}: {body}")
        self.hops += 1
        self.ended = not body.startswith("CON ")
        self.screens.append(body)
        if self.ended:
            self._notify_end("Success")
        return body

    def hang_up(self) -> None:
        """Leave an open session (a menu was waiting): AT reports it ``Incomplete``."""
        if not self.ended and self.session_id:
            self.ended = True
            self._notify_end("Incomplete")

    def _notify_end(self, status: str) -> None:
        """AT's end-of-session notification for the current session."""
        form = {
            "sessionId": self.session_id,
            "serviceCode": self.service_code,
            "phoneNumber": self.phone,
            "networkCode": self.network_code,
            "status": status,
            "input": self.text,
            "hopsCount": str(self.hops),
            "durationInMillis": str(round((time.monotonic() - self.started) * 1000)),
            "cost": "0.0000",
        }
        response = self.app.test_client().post(self._url("ussd/events"), data=form)
        if response.status_code != 200:
            raise RuntimeError(f"USSD end notice answered {response.status_code}")

    # -- leaving ----------------------------------------------------------------------

    def finish(self, timeout: float = REPLY_WAIT_SECONDS) -> list[str]:
        """End an open session and let the queued jobs run; the SMS they sent this phone.

        On the embedded queue the jobs run here, before the process exits (its runner
        is a daemon thread that would die with it); with Redis they are already in rq,
        where ``flask worker`` runs them, so nothing is awaited.
        """
        self.hang_up()
        jobs = self.runtime.jobs
        if isinstance(jobs, InProcessJobQueue):
            jobs.drain(timeout=timeout)
        return self._new_messages()

    @property
    def jobs_in_rq(self) -> bool:
        """True when jobs go to rq workers (Redis is set) rather than run in this process."""
        return not isinstance(self.runtime.jobs, InProcessJobQueue)

    # -- SMS ----------------------------------------------------------------------------

    def sms(self, text: str) -> list[str]:
        """Send an SMS to Kazi and return the replies it sent back to this phone."""
        form = {
            "from": self.phone,
            "to": "22384",
            "text": text,
            "id": f"sim-{uuid.uuid4().hex}",
            "date": "2026-11-26 10:00:00",
            "linkId": f"sim-link-{next(_ids)}",
            "networkCode": self.network_code,
        }
        response = self.app.test_client().post(self._url("sms"), data=form)
        if response.status_code != 200:
            raise RuntimeError(f"SMS webhook answered {response.status_code}")
        return self.replies()

    def sent_so_far(self) -> list[str]:
        """SMS sent to this phone since the last look, after the jobs due now ran (no rq wait)."""
        jobs = self.runtime.jobs
        if isinstance(jobs, InProcessJobQueue):
            jobs.drain(timeout=REPLY_WAIT_SECONDS)
        return self._new_messages()

    def replies(self) -> list[str]:
        """Outbound messages to this phone since the last call (waiting for the sender)."""
        jobs = self.runtime.jobs
        if isinstance(jobs, InProcessJobQueue):
            jobs.drain(timeout=REPLY_WAIT_SECONDS)
            return self._new_messages()
        deadline = time.monotonic() + REPLY_WAIT_SECONDS
        while True:  # rq: another process handles the SMS; poll for its reply
            found = self._new_messages()
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def _new_messages(self) -> list[str]:
        rows = self._outbound(select(Message).where(Message.id > self.last_message_id))
        if rows:
            self.last_message_id = rows[-1].id
        return [row.body for row in rows]

    def _newest_message_id(self) -> int:
        rows = self._outbound(select(Message).order_by(Message.id.desc()).limit(1))
        return rows[0].id if rows else 0

    def _outbound(self, query: Any) -> list[Message]:
        query = query.where(Message.phone == self.phone, Message.direction == Direction.OUTBOUND)
        with self.runtime.sessions() as session:
            return sorted(session.scalars(query), key=lambda m: m.id)
