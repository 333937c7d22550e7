"""A local HTTP emulator of MTN's MoMo Open API, Disbursement product.

Written from MTN's public documentation (https://momodeveloper.mtn.com/api-documentation,
its callback page https://momodeveloper.mtn.com/content/html_widgets/sefqs.html and its
error table https://momodeveloper.mtn.com/content/html_widgets/XCaGL.html), independently
of ``payouts.providers``, so tests over HTTP check our client against the documented
contract. It checks every header strictly, refuses a reused ``X-Reference-Id`` with 409
``RESOURCE_ALREADY_EXIST``, answers a transfer 202 with an empty body, and sends the
outcome to ``X-Callback-Url`` once (or never, or as often as a test asks) by PUT.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from tests.emulators.http import BackgroundServer, ServedEmulator

#: The documented failure reasons of a transfer (MTN's common-error page,
#: https://momodeveloper.mtn.com/api-documentation/common-error).
FAILURE_REASONS = (
    "PAYEE_NOT_FOUND",
    "NOT_ENOUGH_FUNDS",
    "PAYER_LIMIT_REACHED",
    "PAYEE_NOT_ALLOWED_TO_RECEIVE",
    "NOT_ALLOWED",
    "NOT_ALLOWED_TARGET_ENVIRONMENT",
    "INVALID_CALLBACK_URL_HOST",
    "INVALID_CURRENCY",
    "SERVICE_UNAVAILABLE",
    "COULD_NOT_PERFORM_TRANSACTION",
    "INTERNAL_PROCESSING_ERROR",
    "EXPIRED",
)
TOKEN_PATH = "/disbursement/token/"
TRANSFER_PATH = "/disbursement/v1_0/transfer"
BALANCE_PATH = "/disbursement/v1_0/account/balance"
ACTIVE_PATH_PREFIX = "/disbursement/v1_0/accountholder/msisdn/"
_ACTIVE = re.compile(r"^/disbursement/v1_0/accountholder/msisdn/(\d+)/active$")
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I)
#: The longest a held transfer answer waits for the test to release it.
REPLY_HOLD_SECONDS = 20.0


@dataclass
class Scenario:
    """What the emulator does with one transfer."""

    outcome: str = "SUCCESSFUL"  # SUCCESSFUL | FAILED
    reason: str = "INTERNAL_PROCESSING_ERROR"  # when FAILED
    callbacks: int = 1  # how many times the callback is sent (MTN: once; 0 = lost)
    pending_polls: int = 0  # GETs answering PENDING before the outcome
    # The 202 waits until the test sets this (at most REPLY_HOLD_SECONDS): with a short
    # client timeout, a "timeout after the transfer was taken" regardless of machine speed.
    reply_after: threading.Event | None = None


@dataclass(frozen=True)
class Recorded:
    """One request the emulator received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Transfer:
    reference: str
    body: dict[str, Any]
    scenario: Scenario
    financial_id: str
    polls: int = 0


@dataclass
class MomoEmulator(ServedEmulator):
    """MoMo Disbursement on 127.0.0.1, with knobs for each scenario the client must survive."""

    api_user: str = "3f9d8a7e-1c2b-4d5e-8f90-123456789abc"
    api_key: str = "emu-api-key"
    subscription_key: str = "emu-subscription-key"
    environment: str = "mtnuganda"
    currency: str = "UGX"
    token_lifetime: int = 3600
    available_balance: str = "2500000"
    default_scenario: Scenario = field(default_factory=Scenario)
    scenarios: dict[str, Scenario] = field(default_factory=dict)  # by externalId
    inactive: set[str] = field(default_factory=set)  # MSISDNs (digits) that cannot receive
    requests: list[Recorded] = field(default_factory=list)
    callbacks_sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tokens_issued: int = 0

    def __post_init__(self) -> None:
        self._tokens: dict[str, float] = {}
        self._transfers: dict[str, _Transfer] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopped = False
        self._server = BackgroundServer(self._app)
        self.url = self._server.url

    def received(self, path: str, method: str | None = None) -> list[Recorded]:
        """The requests received on one path (and method)."""
        return [r for r in self.requests if r.path == path and method in (None, r.method)]

    def transfers_posted(self, reference: str) -> list[Recorded]:
        """Every transfer POST that carried this X-Reference-Id."""
        return [
            r for r in self.received(TRANSFER_PATH, "POST")
            if r.headers.get("X-Reference-Id") == reference
        ]  # fmt: skip

    # --- HTTP --------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<not json>"
        self.requests.append(Recorded(request.method, request.path, dict(request.headers), body))
        status, payload = self._route(request, body)
        text = "" if payload is None else json.dumps(payload)
        return Response(text, status, mimetype="application/json")(environ, start_response)

    def _route(self, request: Request, body: Any) -> tuple[int, Any]:
        if request.headers.get("Ocp-Apim-Subscription-Key") != self.subscription_key:
            # The gateway's answer to a missing or wrong product key.
            return 401, {
                "statusCode": 401,
                "message": "Access denied due to invalid subscription key.",
            }
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._token(request)
        if not self._authorised(request):
            return 401, {"code": "UNAUTHORIZED", "message": "Invalid access token."}
        if request.headers.get("X-Target-Environment") != self.environment:
            return 400, _error("NOT_ALLOWED_TARGET_ENVIRONMENT", "Access to target environment")
        if request.path == TRANSFER_PATH and request.method == "POST":
            return self._transfer(request, body)
        if request.path.startswith(TRANSFER_PATH + "/") and request.method == "GET":
            return self._status(request.path.removeprefix(TRANSFER_PATH + "/"))
        if request.path == BALANCE_PATH and request.method == "GET":
            return 200, {"availableBalance": self.available_balance, "currency": self.currency}
        active = _ACTIVE.match(request.path)
        if active and request.method == "GET":
            return 200, {"result": active.group(1) not in self.inactive}
        return 404, _error("RESOURCE_NOT_FOUND", "Requested resource was not found.")

    def _token(self, request: Request) -> tuple[int, Any]:
        expected = base64.b64encode(f"{self.api_user}:{self.api_key}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return 401, {"error": "login_failed", "error_description": "Login failed"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            # MoMo tokens are independent: a new one does not revoke the last.
            self._tokens[token] = time.monotonic() + self.token_lifetime
            self.tokens_issued += 1
        return 200, {
            "access_token": token,
            "token_type": "access_token",
            "expires_in": self.token_lifetime,
        }

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        with self._lock:
            expires = self._tokens.get(header.removeprefix("Bearer "))
        return header.startswith("Bearer ") and expires is not None and time.monotonic() < expires

    def _transfer(self, request: Request, body: Any) -> tuple[int, Any]:
        reference = request.headers.get("X-Reference-Id", "")
        if not _UUID4.match(reference):
            return 400, _error("INVALID_REFERENCE_ID", "X-Reference-Id must be a UUID v4")
        problem = _transfer_problem(body, self.currency)
        if problem:
            return 400, _error("BAD_REQUEST", f"Invalid {problem}")
        scenario = self.scenarios.get(body["externalId"], self.default_scenario)
        with self._lock:
            if reference in self._transfers:
                return 409, _error("RESOURCE_ALREADY_EXIST", "Duplicated reference id.")
            transfer = _Transfer(reference, body, scenario, str(secrets.randbelow(10**10)))
            self._transfers[reference] = transfer
        callback = request.headers.get("X-Callback-Url")
        if callback and scenario.callbacks:
            self._send_later(callback, transfer)
        if scenario.reply_after is not None:
            scenario.reply_after.wait(REPLY_HOLD_SECONDS)
        return 202, None

    def _status(self, reference: str) -> tuple[int, Any]:
        with self._lock:
            transfer = self._transfers.get(reference)
            if transfer is None:
                return 404, _error("RESOURCE_NOT_FOUND", "Requested resource was not found.")
            transfer.polls += 1
            pending = transfer.polls <= transfer.scenario.pending_polls
        return 200, _outcome(transfer, pending=pending)

    def _send_later(self, url: str, transfer: _Transfer) -> None:
        def run() -> None:
            payload = _outcome(transfer, pending=False)
            for _ in range(transfer.scenario.callbacks):
                self.callbacks_sent.append((url, payload))
                # MTN sends the callback once and never retries an undelivered one.
                with contextlib.suppress(requests.RequestException):
                    requests.put(url, json=payload, timeout=5)

        self._in_background(run)


def _transfer_problem(body: Any, currency: str) -> str | None:
    """The first field of a transfer body that breaks the documented format, if any."""
    if not isinstance(body, dict):
        return "body"
    amount = body.get("amount")
    if not isinstance(amount, str) or not re.fullmatch(r"\d+(\.\d+)?", amount) or amount == "0":
        return "amount"  # a string of digits, e.g. "500"
    if body.get("currency") != currency:
        return "currency"
    if not isinstance(body.get("externalId"), str) or not body["externalId"]:
        return "externalId"
    payee = body.get("payee")
    if not isinstance(payee, dict) or payee.get("partyIdType") != "MSISDN":
        return "payee.partyIdType"
    if not isinstance(payee.get("partyId"), str) or not payee["partyId"].isdigit():
        return "payee.partyId"  # digits with the country code, no "+"
    for name in ("payerMessage", "payeeNote"):
        if not isinstance(body.get(name), str) or len(body[name]) > 160:
            return name
    return None


def _outcome(transfer: _Transfer, *, pending: bool) -> dict[str, Any]:
    """The transfer as GET and the callback show it."""
    body, scenario = transfer.body, transfer.scenario
    result: dict[str, Any] = {
        "amount": body["amount"],
        "currency": body["currency"],
        "externalId": body["externalId"],
        "payee": body["payee"],
        "payerMessage": body["payerMessage"],
        "payeeNote": body["payeeNote"],
        "status": "PENDING" if pending else scenario.outcome,
    }
    if not pending and scenario.outcome == "SUCCESSFUL":
        result["financialTransactionId"] = transfer.financial_id
    if not pending and scenario.outcome == "FAILED":
        result["reason"] = scenario.reason
    return result


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}
