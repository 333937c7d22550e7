"""A local HTTP emulator of Safaricom Daraja (OAuth, B2C v3, Transaction Status, Balance).

Written from Daraja's B2C, Transaction Status and Account Balance pages and their sample payloads, independently of
``payouts.providers``, so tests over real HTTP check our client against the
documented contract rather than against itself. It validates requests strictly,
issues one valid token at a time, refuses a reused OriginatorConversationID and
posts result callbacks from a background thread as a per-payout ``Scenario`` says.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from tests.emulators.daraja_requests import b2c_problem, query_problem
from tests.emulators.http import BackgroundServer, ServedEmulator

FAILURE_DESCRIPTIONS = {
    1: "The balance is insufficient for the transaction.",
    2: "Declined due to limit rule: less than the minimum transaction amount.",
    3: "Declined due to limit rule: greater than the maximum transaction amount.",
    4: "Declined due to limit rule: would exceed daily transfer limit.",
    8: "Declined due to limit rule: would exceed the maximum balance.",
    11: "The DebitParty is in an invalid state.",
    21: "The initiator is not allowed to initiate this request.",
    2001: "The initiator information is invalid.",
    2006: "Declined due to account rule: The account status does not allow this transaction.",
    2028: "The request is not permitted according to product assignment.",
    2040: "Credit Party customer type (Unregistered) is not supported by the service.",
    8006: "The security credential is locked.",
    "SFC_IC0003": "The operator does not exist.",
}

#: What the emulated organisation holds before any payment, and each payment's charge
#: (Daraja reports the utility account's and the charges-paid account's funds after
#: each payment; the charge itself appears in Transaction Status' DebitPartyCharges).
UTILITY_START_KES = 228_037
CHARGE_KES = 15

#: The longest a held synchronous answer waits: under our client's 30 s read timeout.
REPLY_HOLD_SECONDS = 20.0


@dataclass
class Scenario:
    """What the emulator does with one B2C request."""

    kind: str = "success"  # success | failure | timeout | none
    result_code: int | str = 0
    duplicates: int = 1  # how many times the callback is posted
    delay: float = 0.0  # seconds before the callback
    http_status: int | None = None  # process the payment, then answer this status anyway
    reply_delay: float = 0.0  # seconds before the synchronous answer
    # The synchronous answer waits until the test sets this (at most REPLY_HOLD_SECONDS):
    # "before the answer" then holds however slow the machine is, unlike a delay.
    reply_after: threading.Event | None = None
    paid_amount: int | None = None  # whole KES the result reports paid, if not the request's


@dataclass(frozen=True)
class Recorded:
    """One request the emulator received."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass
class _Payment:
    body: dict[str, Any]
    scenario: Scenario
    conversation_id: str
    receipt: str
    utility_after: float = 0.0
    charges_after: float = 0.0


@dataclass
class DarajaEmulator(ServedEmulator):
    """Daraja on 127.0.0.1, with knobs for every scenario the client must survive."""

    consumer_key: str = "test-key"
    consumer_secret: str = "test-secret"
    shortcode: str = "600999"
    initiator_name: str = "testapi"
    token_lifetime: int = 3599
    check_credential: Callable[[str], bool] | None = None  # False → ResultCode 2001
    default_scenario: Scenario = field(default_factory=Scenario)
    scenarios: dict[str, Scenario] = field(default_factory=dict)  # by OriginatorConversationID
    requests: list[Recorded] = field(default_factory=list)
    callbacks_sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tokens_issued: int = 0
    silent_status: bool = False  # accept status queries but never post their answer
    # Hold a status query's callback, or its synchronous answer, until the test sets it:
    # which of the two reaches Kazi first is then the test's choice, not the machine's.
    status_callback_after: threading.Event | None = None
    status_reply_after: threading.Event | None = None

    def __post_init__(self) -> None:
        self._token: str | None = None
        self._token_expires = 0.0
        self._payments: dict[str, _Payment] = {}
        self._forced: list[tuple[str, int, Any]] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopped = False
        self.utility_kes = float(UTILITY_START_KES)
        self.charges_kes = 0.0
        self._server = BackgroundServer(self._app)
        self.url = self._server.url

    def force(self, path: str, status: int, body: Any) -> None:
        """Answer the next request to ``path`` with this status and body, unprocessed."""
        self._forced.append((path, status, body))

    def expire_token(self) -> None:
        """Make the current token invalid, as time or another process's fetch would."""
        self._token = None

    def received(self, path: str) -> list[Recorded]:
        """The requests received on one path."""
        return [r for r in self.requests if r.path == path]

    # --- HTTP --------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            body = json.loads(request.get_data()) if request.get_data() else None
        except ValueError:
            body = "<not json>"
        self.requests.append(
            Recorded(request.method, request.path, dict(request.headers), dict(request.args), body)
        )
        status, payload = self._route(request, body)
        return Response(json.dumps(payload), status, mimetype="application/json")(
            environ, start_response
        )

    def _route(self, request: Request, body: Any) -> tuple[int, Any]:
        for i, (path, status, payload) in enumerate(self._forced):
            if path == request.path:
                del self._forced[i]
                return status, payload
        if request.path == "/oauth/v1/generate" and request.method == "GET":
            return self._oauth(request)
        routes = {
            "/mpesa/b2c/v3/paymentrequest": self._b2c,
            "/mpesa/transactionstatus/v1/query": self._status,
            "/mpesa/accountbalance/v1/query": self._balance,
        }
        handler = routes.get(request.path)
        if handler is None or request.method != "POST":
            return 404, _error("404.002.01", "Resource not found")
        if not self._authorised(request):
            return 401, _error("401.002.01", "Error Occurred - Invalid Access Token")
        if not isinstance(body, dict):
            return 400, _error("400.002.02", "Bad Request - Invalid JSON")
        return handler(body)

    def _oauth(self, request: Request) -> tuple[int, Any]:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return 400, _error("400.008.01", "Invalid Authentication passed")
        if request.args.get("grant_type") != "client_credentials":
            return 400, _error("400.008.02", "Invalid grant type passed")
        expected = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode())
        if header[6:].encode() != expected:
            return 400, _error("400.008.01", "Invalid Authentication passed")
        with self._lock:
            # Daraja: each new token invalidates the previous one.
            self._token = secrets.token_urlsafe(20)
            self._token_expires = time.monotonic() + self.token_lifetime
            self.tokens_issued += 1
            # Older Daraja versions send expires_in as a string.
            return 200, {"access_token": self._token, "expires_in": str(self.token_lifetime)}

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        with self._lock:
            live = self._token is not None and time.monotonic() < self._token_expires
            return live and header == f"Bearer {self._token}"

    def _b2c(self, body: dict[str, Any]) -> tuple[int, Any]:
        problem = b2c_problem(body, self.shortcode, self.initiator_name)
        if problem:
            return 400, _error("400.002.02", f"Bad Request - Invalid {problem}")
        originator = body["OriginatorConversationID"]
        scenario = self.scenarios.get(originator, self.default_scenario)
        with self._lock:
            if originator in self._payments:
                return 500, _error("500.002.1001", "Duplicate OriginatorConversationID.")
            payment = _Payment(body, scenario, f"AG_EMU_{secrets.token_hex(8)}", _receipt())
            self._payments[originator] = payment
        if self.check_credential and not self.check_credential(body["SecurityCredential"]):
            payment.scenario = Scenario(kind="failure", result_code=2001)
        self._schedule_b2c(payment)
        time.sleep(scenario.reply_delay)
        if scenario.reply_after is not None:
            scenario.reply_after.wait(REPLY_HOLD_SECONDS)
        if scenario.http_status is not None:
            return scenario.http_status, _error("500.003.1001", "Internal Server Error")
        return 200, _ack(payment.conversation_id, originator)

    def _schedule_b2c(self, payment: _Payment) -> None:
        scenario, body = payment.scenario, payment.body
        if scenario.kind == "none":
            return
        if scenario.kind == "timeout":
            result = _result(body["OriginatorConversationID"], payment.conversation_id, 1, "")
            result["Result"].update(ResultType=1, ResultDesc="The service request has timed out.")
            url = body["QueueTimeOutURL"]
        elif scenario.kind == "failure":
            result = _result(
                body["OriginatorConversationID"], payment.conversation_id,
                scenario.result_code, payment.receipt,
            )  # fmt: skip
            url = body["ResultURL"]
        else:
            with self._lock:
                # The payment and its charge leave the utility account; the charge is
                # booked (negative) on the charges-paid account.
                self.utility_kes -= int(body["Amount"]) + CHARGE_KES
                self.charges_kes -= CHARGE_KES
                payment.utility_after, payment.charges_after = self.utility_kes, self.charges_kes
            result = _success(payment)
            url = body["ResultURL"]
        self._post_later(url, result, scenario.delay, scenario.duplicates)

    def _status(self, body: dict[str, Any]) -> tuple[int, Any]:
        problem = query_problem(body, "TransactionStatusQuery", self.shortcode)
        if not problem and not (body.get("TransactionID") or body.get("OriginalConversationID")):
            problem = "TransactionID"
        if problem:
            return 400, _error("400.002.02", f"Bad Request - Invalid {problem}")
        conversation_id, originator = (
            f"AG_EMU_{secrets.token_hex(8)}",
            f"emu-q-{secrets.token_hex(4)}",
        )
        payment = self._payments.get(body.get("OriginalConversationID", ""))
        if payment is None:
            payment = next(
                (p for p in self._payments.values() if p.receipt == body.get("TransactionID")), None
            )
        if not self.silent_status:  # Daraja sometimes never sends a callback
            answer = _status_result(originator, conversation_id, payment)
            self._post_later(body["ResultURL"], answer, hold=self.status_callback_after)
        if self.status_reply_after is not None:
            self.status_reply_after.wait(REPLY_HOLD_SECONDS)
        return 200, _ack(conversation_id, originator)

    def _balance(self, body: dict[str, Any]) -> tuple[int, Any]:
        problem = query_problem(body, "AccountBalance", self.shortcode)
        if problem:
            return 400, _error("400.002.02", f"Bad Request - Invalid {problem}")
        conversation_id, originator = (
            f"AG_EMU_{secrets.token_hex(8)}",
            f"emu-b-{secrets.token_hex(4)}",
        )
        utility = f"{self.utility_kes:.2f}"
        balance = (
            "Working Account|KES|700000.00|700000.00|0.00|0.00"
            f"&Utility Account|KES|{utility}|{utility}|0.00|0.00"
        )
        params = [{"Key": "AccountBalance", "Value": balance},
                  {"Key": "BOCompletedTime", "Value": "20260115110000"}]  # fmt: skip
        result = _result(originator, conversation_id, "0", "UAF0000000")
        result["Result"]["ResultParameters"] = {"ResultParameter": params}
        self._post_later(body["ResultURL"], result)
        return 200, _ack(conversation_id, originator)

    def _post_later(
        self,
        url: str,
        payload: dict[str, Any],
        delay: float = 0.0,
        times: int = 1,
        hold: threading.Event | None = None,
    ) -> None:
        def run() -> None:
            time.sleep(delay)
            if hold is not None:
                hold.wait(REPLY_HOLD_SECONDS)
            for _ in range(times):
                self.callbacks_sent.append((url, payload))
                # Daraja does not retry a callback it could not deliver.
                with contextlib.suppress(requests.RequestException):
                    requests.post(url, json=payload, timeout=5)

        self._in_background(run)


def _error(code: str, message: str) -> dict[str, str]:
    return {"requestId": f"emu-{secrets.token_hex(4)}", "errorCode": code, "errorMessage": message}


def _ack(conversation_id: str, originator: str) -> dict[str, str]:
    return {
        "ConversationID": conversation_id,
        "OriginatorConversationID": originator,
        "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully.",
    }


def _receipt() -> str:
    return "UEM" + secrets.token_hex(4).upper()[:7]


def _result(originator: str, conversation_id: str, code: int | str, tx: str) -> dict[str, Any]:
    desc = FAILURE_DESCRIPTIONS.get(code, "The service request is processed successfully.")
    return {
        "Result": {
            "ResultType": 0,
            "ResultCode": code,
            "ResultDesc": desc,
            "OriginatorConversationID": originator,
            "ConversationID": conversation_id,
            "TransactionID": tx,
            "ReferenceData": {
                "ReferenceItem": {
                    "Key": "QueueTimeoutURL",
                    "Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit",
                }
            },
        }
    }


def _success(payment: _Payment) -> dict[str, Any]:
    body = payment.body
    result = _result(body["OriginatorConversationID"], payment.conversation_id, 0, payment.receipt)
    params = [
        {"Key": "TransactionAmount", "Value": payment.scenario.paid_amount or body["Amount"]},
        {"Key": "TransactionReceipt", "Value": payment.receipt},
        {"Key": "ReceiverPartyPublicName", "Value": f"{body['PartyB']} - JANE TEST WANJIKU"},
        {"Key": "TransactionCompletedDateTime", "Value": "15.01.2026 10:15:02"},
        {"Key": "B2CUtilityAccountAvailableFunds", "Value": payment.utility_after},
        {"Key": "B2CWorkingAccountAvailableFunds", "Value": 0.00},
        {"Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y"},
        {"Key": "B2CChargesPaidAccountAvailableFunds", "Value": payment.charges_after},
    ]
    result["Result"]["ResultParameters"] = {"ResultParameter": params}
    return result


def _status_result(
    originator: str, conversation_id: str, payment: _Payment | None
) -> dict[str, Any]:
    if payment is None:
        return _result(originator, conversation_id, 2032, "")  # an undocumented "not found"
    # A timed-out or silent payment may still have been paid: here it was.
    paid = (
        payment.scenario.kind in ("success", "timeout", "none")
        and payment.scenario.result_code == 0
    )
    params = [
        {"Key": "DebitPartyName", "Value": "600999 - Test Microwork Ltd"},
        {"Key": "CreditPartyName", "Value": f"{payment.body['PartyB']} - JANE TEST WANJIKU"},
        {"Key": "OriginatorConversationID", "Value": payment.body["OriginatorConversationID"]},
        {"Key": "InitiatedTime", "Value": "20260115101501"},
        {
            "Key": "DebitPartyCharges",
            "Value": f"Fee For B2C Payment|KES|{CHARGE_KES if paid else 0}.00",
        },
        {"Key": "TransactionReason"},
        {"Key": "TransactionStatus", "Value": "Completed" if paid else "Failed"},
        {"Key": "FinalisedTime", "Value": "20260115101502"},
        {"Key": "Amount", "Value": str(payment.scenario.paid_amount or payment.body["Amount"])},
        {"Key": "ConversationID", "Value": payment.conversation_id},
        {"Key": "ReceiptNo", "Value": payment.receipt},
    ]
    result = _result(originator, conversation_id, 0, "UAF0000000")
    result["Result"]["ResultParameters"] = {"ResultParameter": params}
    return result
