"""Safaricom M-Pesa Daraja: B2C v3 payments, Transaction Status and Account Balance.

Every Daraja call here is asynchronous: a "0" ResponseCode only means the job was
queued, and the result arrives later at the ResultURL (parsed by
``daraja_parsing``). What this module decides is what a *synchronous* answer
means for the money: a documented refusal is ``ProviderRejected`` (not paid), a
duplicate OriginatorConversationID is ``DuplicateSubmission`` (Daraja already has
the payment), and anything after the request may have left us (network error,
timeout, 5xx, garbled body) is ``ProviderUnavailable``, an unknown outcome.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from core.kvstore import KeyValueStore
from payouts.errors import (
    DuplicateSubmission,
    InvalidPayoutRequest,
    NotSent,
    PayoutConfigError,
    ProviderRejected,
    ProviderUnavailable,
)
from payouts.providers.base import (
    CallbackKind,
    PayoutRequest,
    ProviderEvent,
    QueryAck,
    SubmitAck,
    json_object,
)
from payouts.providers.daraja_auth import TokenCache, fetch_token
from payouts.providers.daraja_parsing import parse_callback

SANDBOX_BASE_URL = "https://sandbox.safaricom.co.ke"
PRODUCTION_BASE_URL = "https://api.safaricom.co.ke"
B2C_PATH = "/mpesa/b2c/v3/paymentrequest"
STATUS_PATH = "/mpesa/transactionstatus/v1/query"
BALANCE_PATH = "/mpesa/accountbalance/v1/query"

#: Daraja's per-payment limits in whole shillings (B2C API page,
#: https://developer.safaricom.co.ke/APIs/BusinessToCustomer).
MIN_KES = 10
MAX_KES = 250_000
COMMAND_IDS = frozenset({"BusinessPayment", "SalaryPayment", "PromotionPayment"})
#: Gateway codes for a bearer token Daraja no longer accepts.
INVALID_TOKEN_CODES = frozenset({"401.002.01", "404.001.03"})
_KE_MOBILE = re.compile(r"^\+254([17]\d{8})$")


def resolve_base_url(value: str) -> str:
    """Turn MPESA_BASE_URL ("sandbox", "production" or a URL) into a base URL."""
    named = {"sandbox": SANDBOX_BASE_URL, "production": PRODUCTION_BASE_URL}
    url = named.get(value.strip().lower(), value.strip()).rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise PayoutConfigError(f"MPESA_BASE_URL must be sandbox, production or a URL: {value!r}")
    return url


@dataclass(frozen=True)
class DarajaConfig:
    """Everything the client needs, built once from settings by the integrator."""

    base_url: str
    consumer_key: str
    consumer_secret: str
    shortcode: str
    initiator_name: str
    security_credential: str  # see daraja_auth.resolve_security_credential
    result_url: str  # PUBLIC_BASE_URL + /webhooks/payouts/b2c/result?token=…
    timeout_url: str  # PUBLIC_BASE_URL + /webhooks/payouts/b2c/timeout?token=…
    query_result_url: str | None = None  # status/balance results; defaults to result_url
    query_timeout_url: str | None = None
    command_id: str = "BusinessPayment"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.command_id not in COMMAND_IDS:
            raise PayoutConfigError(f"unknown Daraja CommandID {self.command_id!r}")
        for name in ("consumer_key", "consumer_secret", "shortcode", "initiator_name"):
            if not getattr(self, name):
                raise PayoutConfigError(f"Daraja setting {name} is empty")


class DarajaClient:
    """The Daraja payout provider over an injected ``requests.Session``."""

    name = "daraja"

    def __init__(
        self,
        config: DarajaConfig,
        session: requests.Session,
        store: KeyValueStore,
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.config = config
        self._session = session
        self._base = resolve_base_url(config.base_url)
        self._timeout = (config.connect_timeout, config.read_timeout)
        self._tokens = token_cache or TokenCache(
            store, self._fetch_token, namespace=f"{self._base}|{config.consumer_key}"
        )

    def access_token(self) -> str:
        """The shared OAuth token (fetched by at most one process at a time)."""
        return self._tokens.get()

    def payment_body(self, request: PayoutRequest) -> dict[str, Any]:
        """The B2C v3 request body for a payout, validated against Daraja's limits."""
        remarks = _text(request.remarks, "remarks", 2, 100)
        # Always sent: the payout id is a useful reference on the M-Pesa statement.
        occasion = _text(request.occasion or request.idempotency_key, "occasion", 1, 100)
        return {
            # Our idempotency key: Daraja refuses a second request that reuses it.
            "OriginatorConversationID": request.idempotency_key,
            "InitiatorName": self.config.initiator_name,
            "SecurityCredential": self.config.security_credential,
            "CommandID": self.config.command_id,
            "Amount": whole_kes(request.amount_minor, request.currency),
            "PartyA": self.config.shortcode,
            "PartyB": daraja_msisdn(request.phone_e164),
            "Remarks": remarks,
            "QueueTimeOutURL": self.config.timeout_url,
            "ResultURL": self.config.result_url,
            "Occassion": occasion,  # sic: Daraja's B2C spelling has a double s
        }

    def submit(self, request: PayoutRequest) -> SubmitAck:
        """Send one B2C payment; accepted means queued at Daraja, not yet paid."""
        data = self._post(B2C_PATH, self.payment_body(request))
        ack = _ack(data)
        return SubmitAck(ack.query_id, ack.provider_reference, ack.code, ack.description)

    def parse_callback(self, kind: CallbackKind, body: Mapping[str, Any]) -> ProviderEvent:
        """Decode one of Daraja's callbacks (``daraja_parsing``)."""
        return parse_callback(kind, body)

    def query_status(
        self,
        *,
        idempotency_key: str | None = None,
        receipt: str | None = None,
        remarks: str = "Kazi payout status",
        occasion: str | None = None,
    ) -> QueryAck:
        """Ask Daraja for a payout's state by our key or the M-Pesa receipt (async answer)."""
        originator_conversation_id, transaction_id = idempotency_key, receipt
        if not originator_conversation_id and not transaction_id:
            raise InvalidPayoutRequest("give an id to query", field="idempotency_key")
        body = self._query_body("TransactionStatusQuery", remarks)
        # Only the ids we know are sent: whether TransactionID may be omitted when
        # querying by OriginalConversationID is not documented (Transaction Status page,
        # https://developer.safaricom.co.ke/APIs/TransactionStatus).
        if transaction_id:
            body["TransactionID"] = transaction_id
        if originator_conversation_id:
            body["OriginalConversationID"] = originator_conversation_id
        body["Occasion"] = _text(occasion or originator_conversation_id or "", "occasion", 0, 100)
        return _ack(self._post(STATUS_PATH, body))

    def query_balance(self, *, remarks: str = "Kazi balance check") -> QueryAck:
        """Ask Daraja for the shortcode's balances; the answer comes by callback."""
        return _ack(self._post(BALANCE_PATH, self._query_body("AccountBalance", remarks)))

    def _query_body(self, command_id: str, remarks: str) -> dict[str, Any]:
        return {
            "Initiator": self.config.initiator_name,
            "SecurityCredential": self.config.security_credential,
            "CommandID": command_id,
            "PartyA": self.config.shortcode,
            "IdentifierType": "4",  # 4 = organisation shortcode
            "Remarks": _text(remarks, "remarks", 2, 100),
            "QueueTimeOutURL": self.config.query_timeout_url or self.config.timeout_url,
            "ResultURL": self.config.query_result_url or self.config.result_url,
        }

    def _fetch_token(self) -> tuple[str, float]:
        return fetch_token(
            self._session,
            self._base,
            self.config.consumer_key,
            self.config.consumer_secret,
            self._timeout,
        )

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = self._tokens.get()
        response = self._send(path, body, token)
        if _token_refused(response):
            # Another process minted a newer token (which kills ours) or it expired:
            # the gateway refused before processing, so one resend is safe, and it
            # carries the same OriginatorConversationID anyway.
            response = self._send(path, body, self._tokens.refresh(token))
        return _decode(response)

    def _send(self, path: str, body: dict[str, Any], token: str) -> requests.Response:
        try:
            return self._session.post(
                self._base + path,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            if _never_connected(exc):
                # No TCP connection was made, so no byte of the request reached Daraja:
                # sending again under the same OriginatorConversationID is safe.
                raise NotSent(f"Daraja {path} not reached: {exc}") from exc
            # A read timeout or a reset after the body went out: Daraja may have it.
            raise ProviderUnavailable(f"Daraja {path} unreachable: {exc}") from exc


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the connection itself failed (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    # requests wraps urllib3's MaxRetryError, whose reason says what failed; a
    # NewConnectionError (refused, unreachable, DNS) is raised before anything is sent.
    # https://urllib3.readthedocs.io/en/stable/reference/urllib3.exceptions.html
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def whole_kes(amount_minor: int, currency: str) -> int:
    """Minor units to Daraja's whole-shilling Amount, within Daraja's limits."""
    if currency != "KES":
        raise InvalidPayoutRequest("M-Pesa pays KES only", field="currency", value=currency)
    shillings, cents = divmod(amount_minor, 100)
    if cents:
        # Daraja takes whole shillings; rounding would pay a different sum than booked.
        raise InvalidPayoutRequest("amount is not whole shillings", field="amount_minor")
    if not MIN_KES <= shillings <= MAX_KES:
        raise InvalidPayoutRequest(
            f"amount must be KES {MIN_KES}..{MAX_KES}", field="amount_minor", value=amount_minor
        )
    return shillings


def daraja_msisdn(phone_e164: str) -> str:
    """+2547XXXXXXXX (E.164) to Daraja's 2547XXXXXXXX; only Kenyan mobiles."""
    match = _KE_MOBILE.match(phone_e164)
    if match is None:
        raise InvalidPayoutRequest("not a Kenyan mobile number", field="phone_e164")
    return "254" + match.group(1)


def _text(value: str, field: str, shortest: int, longest: int) -> str:
    if not shortest <= len(value) <= longest:
        raise InvalidPayoutRequest(f"{field} must be {shortest}-{longest} characters", field=field)
    return value


def _token_refused(response: requests.Response) -> bool:
    body = json_object(response) or {}
    return response.status_code == 401 or body.get("errorCode") in INVALID_TOKEN_CODES


def _decode(response: requests.Response) -> dict[str, Any]:
    """Map a synchronous answer to its data or to the error it means for the money."""
    status = response.status_code
    body = json_object(response)
    error_code = str(body.get("errorCode") or "") if body else ""
    message = str(body.get("errorMessage") or "") if body else ""
    if "duplicate" in message.lower() and "originator" in message.lower():
        # Checked before the status: 500.002.1001 is also "System internal error",
        # so the message, not the code, says Daraja already holds this payment.
        raise DuplicateSubmission(
            f"Daraja already has this OriginatorConversationID: {message}",
            error_code=error_code,
            status_code=status,
        )
    if 200 <= status < 300 and body is not None and not error_code:
        code = str(body.get("ResponseCode", "")).strip()
        if code == "0":
            return body
        raise ProviderRejected(
            f"Daraja refused: {code} {body.get('ResponseDescription', '')}",
            error_code=code or "missing_response_code",
            error_message=str(body.get("ResponseDescription", "")),
            status_code=status,
        )
    if 400 <= status < 500:
        raise ProviderRejected(
            f"Daraja refused: HTTP {status} {error_code} {message}",
            error_code=error_code or f"http_{status}",
            error_message=message,
            status_code=status,
        )
    # 5xx (including spike arrest and quota), 2xx without a usable body, or anything
    # else: the request may have been processed, so the outcome is unknown.
    raise ProviderUnavailable(
        f"Daraja answered HTTP {status} {error_code} {message}",
        error_code=error_code or None,
        status_code=status,
    )


def _ack(data: Mapping[str, Any]) -> QueryAck:
    """Daraja's synchronous acceptance: the request's OriginatorConversationID names what
    answers it (our key for a payment, the query's own id for a query)."""
    conversation_id = str(data.get("ConversationID") or "")
    originator = str(data.get("OriginatorConversationID") or "")
    if not conversation_id or not originator:
        # Accepted but unidentifiable: the payment may run, so the outcome is unknown.
        raise ProviderUnavailable("Daraja accepted without ConversationID")
    return QueryAck(
        query_id=originator,
        provider_reference=conversation_id,
        code=str(data.get("ResponseCode")),
        description=str(data.get("ResponseDescription") or ""),
    )
