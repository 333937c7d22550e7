"""A local HTTP emulator of Africa's Talking Airtime: the send endpoint and its status callback.

Written from AT's airtime pages (https://developers.africastalking.com/docs/airtime/sending,
https://developers.africastalking.com/docs/airtime/notifications) and the SDK it is called
through (https://github.com/AfricasTalkingLtd/africastalking-python, ``Airtime.py``): a
form POST to ``/version1/airtime/send`` with ``username`` and ``recipients`` (a JSON list
of ``{"phoneNumber", "amount": "KES 50"}``), the ``apiKey`` header and an optional
``Idempotency-Key`` (a repeat answers as the first and sends nothing more). ``Sent`` only
means handed to the telco; the final ``Success`` or ``Failed`` is POSTed to the status
callback URL set on the dashboard (here ``callback_url``), once or never.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from tests.emulators.http import BackgroundServer, ServedEmulator

SEND_PATH = "/version1/airtime/send"
DISCOUNT_RATE = Decimal("0.04")  # AT's sample answer: KES 4 on KES 100


@dataclass
class AirtimeScenario:
    """What happens to one recipient's airtime."""

    status: str = "Success"  # the callback's final status: Success | Failed
    callbacks: int = 1  # 0: the status callback is lost
    refuse: str | None = None  # a synchronous refusal (errorMessage), nothing sent


@dataclass
class AirtimeEmulator(ServedEmulator):
    """AT's airtime API on 127.0.0.1."""

    username: str = "kazi-test"
    api_key: str = "at-test-key"
    callback_url: str | None = None  # the dashboard's airtime status callback URL
    default_scenario: AirtimeScenario = field(default_factory=AirtimeScenario)
    scenarios: dict[str, AirtimeScenario] = field(default_factory=dict)  # by phone number
    sends: list[dict[str, Any]] = field(default_factory=list)  # each request actually sent
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._answers: dict[str, tuple[int, Any]] = {}  # by Idempotency-Key
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopped = False
        self._server = BackgroundServer(self._app)
        self.url = self._server.url

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.get_data()  # read before the server thread moves on
        self.requests.append(request)
        status, payload = self._route(request)
        return Response(json.dumps(payload), status, mimetype="application/json")(
            environ, start_response
        )

    def _route(self, request: Request) -> tuple[int, Any]:
        if request.path != SEND_PATH or request.method != "POST":
            return 404, "Not found"
        if request.headers.get("apiKey") != self.api_key:
            return 401, "The supplied authentication is invalid"
        if request.form.get("username") != self.username:
            return 401, "The supplied authentication is invalid"
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            if key and key in self._answers:
                return self._answers[key]  # a retried request: the same answer, nothing sent
            answer = self._send(request.form.get("recipients", ""))
            if key:
                self._answers[key] = answer
        return answer

    def _send(self, raw: str) -> tuple[int, Any]:
        try:
            recipients = json.loads(raw)
        except ValueError:
            return 400, "Invalid recipients"
        responses, total, discount_total = [], Decimal(0), Decimal(0)
        for recipient in recipients:
            phone, amount = recipient.get("phoneNumber", ""), recipient.get("amount", "")
            currency, _, value = amount.partition(" ")
            scenario = self.scenarios.get(phone, self.default_scenario)
            if scenario.refuse:
                responses.append(_line(phone, amount, "Failed", "None", scenario.refuse, "0"))
                continue
            discount = (Decimal(value) * DISCOUNT_RATE).quantize(Decimal("0.0001"))
            request_id = f"ATQid_{secrets.token_hex(12)}"
            line = _line(phone, amount, "Sent", request_id, "None", f"{currency} {discount}")
            responses.append(line)
            total, discount_total = total + Decimal(value), discount_total + discount
            self.sends.append(line)
            self._notify_later(line, scenario)
        sent = [r for r in responses if r["status"] == "Sent"]
        currency = recipients[0]["amount"].split(" ")[0] if recipients else "KES"
        return 201, {
            "errorMessage": "None" if sent else responses[0]["errorMessage"],
            "numSent": len(sent),
            "totalAmount": f"{currency} {total:.4f}",
            "totalDiscount": f"{currency} {discount_total:.4f}",
            "responses": responses,
        }

    def _notify_later(self, line: dict[str, str], scenario: AirtimeScenario) -> None:
        url = self.callback_url
        if not url or not scenario.callbacks:
            return
        body = {
            "requestId": line["requestId"],
            "status": scenario.status,
            "phoneNumber": line["phoneNumber"],
            "description": "Airtime delivered" if scenario.status == "Success" else "Failed",
            "discount": line["discount"],
            "value": line["amount"],
        }

        def run() -> None:
            for _ in range(scenario.callbacks):
                with contextlib.suppress(requests.RequestException):
                    requests.post(url, data=body, timeout=5)  # a form POST, like AT's others

        self._in_background(run)


def _line(phone: str, amount: str, status: str, rid: str, error: str, disc: str) -> dict[str, str]:
    return {
        "phoneNumber": phone,
        "amount": amount,
        "status": status,
        "requestId": rid,
        "errorMessage": error,
        "discount": disc,
    }
