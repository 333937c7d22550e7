"""MTN MoMo Open API, Disbursement product: transfers to a MoMo wallet (Uganda: UGX).

Protocol facts and where they come from:

- Token: ``POST /disbursement/token/`` with HTTP Basic (API user : API key) and the
  product's ``Ocp-Apim-Subscription-Key`` gives ``{"access_token", "expires_in"}``
  (https://momodeveloper.mtn.com/api-documentation/api-description; the same call in
  the open-source client https://github.com/sparkplug/momoapi-python,
  ``src/mtnmomo/client.py`` ``getAuthToken``). One token is shared by every process
  through the KeyValueStore, kept for ``expires_in`` less a margin.
- Transfer: ``POST /disbursement/v1_0/transfer`` with ``X-Reference-Id`` (a UUID v4: the
  transfer's id and idempotency key), ``X-Target-Environment``, optional
  ``X-Callback-Url``, and ``{amount (a string), currency, externalId, payee:
  {partyIdType: "MSISDN", partyId}, payerMessage, payeeNote}``; the answer is 202 Accepted
  (sparkplug/momoapi-python ``src/mtnmomo/disbursement.py`` ``transfer``). Reusing a
  reference is refused with 409 ``RESOURCE_ALREADY_EXIST``, an unknown one is 404
  ``RESOURCE_NOT_FOUND`` on GET (MTN's error table,
  https://momodeveloper.mtn.com/content/html_widgets/XCaGL.html).
- Outcome: ``GET /disbursement/v1_0/transfer/{referenceId}`` → ``status`` PENDING,
  SUCCESSFUL (with ``financialTransactionId``) or FAILED (with ``reason``). The callback
  (PUT or POST to ``X-Callback-Url``) is sent once with no retry, and MTN tells partners
  to poll the GET as the fallback (https://momodeveloper.mtn.com/content/html_widgets/sefqs.html).
  It is unsigned, so Kazi's callback route carries a secret token and the callback only
  *triggers* that GET: the status answer, never the callback's body, moves money.
- Float: ``GET /disbursement/v1_0/account/balance`` → ``{availableBalance, currency}``
  (sparkplug/momoapi-python ``getBalance``).
- Can a number receive? ``GET /disbursement/v1_0/accountholder/msisdn/{msisdn}/active``
  → ``{"result": true|false}`` (MTN's "Validate account holder status",
  https://momodeveloper.mtn.com/api-documentation/api-description). Asked before the
  first transfer to a number; a yes is remembered, a no refuses the payout unsent.
- The sandbox (``https://sandbox.momodeveloper.mtn.com``, environment ``sandbox``) only
  takes EUR (https://momodeveloper.mtn.com/api-documentation/testing).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from core.kvstore import KeyValueStore
from core.money import MINOR_UNITS, to_minor
from payouts.errors import (
    BadCallback,
    DuplicateSubmission,
    InvalidPayoutRequest,
    PayoutConfigError,
    PrecheckFailed,
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
)
from payouts.providers.base import (
    AccountBalance,
    BalanceAnswer,
    CallbackKind,
    PaymentResult,
    PayoutRequest,
    ProviderEvent,
    ResultStatus,
    StatusAnswer,
    SubmitAck,
    json_object,
)
from payouts.providers.daraja_auth import TokenCache

log = logging.getLogger("kazi.payouts.mtn_momo")

SANDBOX_BASE_URL = "https://sandbox.momodeveloper.mtn.com"
TOKEN_PATH = "/disbursement/token/"
TRANSFER_PATH = "/disbursement/v1_0/transfer"
BALANCE_PATH = "/disbursement/v1_0/account/balance"
ACTIVE_PATH = "/disbursement/v1_0/accountholder/msisdn/{msisdn}/active"
#: MoMo's transfer states in Kazi's terms; PENDING proves nothing yet.
STATUSES = {
    "SUCCESSFUL": ResultStatus.SUCCESS,
    "FAILED": ResultStatus.FAILED,
    "PENDING": ResultStatus.UNKNOWN,
}
#: The refusal code of a payout to a number that has no MoMo wallet (catalog: payout.no_wallet).
NOT_REGISTERED = "PAYEE_NOT_REGISTERED"
#: How long a "yes, this number can receive" is remembered.
ACTIVE_TTL_SECONDS = 30 * 24 * 3600.0
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class MomoConfig:
    """Everything the client needs, built once from settings by ``payouts.rails``."""

    base_url: str
    api_user: str
    api_key: str
    subscription_key: str
    target_environment: str  # "sandbox", or the market: "mtnuganda", ...
    currency: str  # what this market's wallets hold (UGX; the sandbox: EUR)
    callback_url: str | None  # PUBLIC_BASE_URL + /webhooks/payouts/momo?token=…
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def __post_init__(self) -> None:
        for name in ("api_user", "api_key", "subscription_key", "target_environment"):
            if not getattr(self, name):
                raise PayoutConfigError(f"MoMo setting {name} is empty")
        if self.currency not in MINOR_UNITS:
            raise PayoutConfigError(f"MOMO_CURRENCY: Kazi has no currency {self.currency!r}")


class MomoClient:
    """The MTN MoMo Disbursement payout provider over an injected ``requests.Session``."""

    name = "mtn_momo"

    def __init__(self, config: MomoConfig, session: requests.Session, store: KeyValueStore):
        self.config = config
        self._session = session
        self._store = store
        self._base = config.base_url.rstrip("/")
        self._timeout = (config.connect_timeout, config.read_timeout)
        self._tokens = TokenCache(
            store, self._fetch_token, namespace=f"{self._base}|{config.api_user}", prefix="momo"
        )

    def transfer_body(self, request: PayoutRequest) -> dict[str, Any]:
        """The transfer's JSON body, validated against what MoMo and this market take."""
        return {
            "amount": momo_amount(request.amount_minor, request.currency, self.config.currency),
            "currency": request.currency,
            # Our key again: the callback echoes externalId, which finds the payout.
            "externalId": request.idempotency_key,
            "payee": {"partyIdType": "MSISDN", "partyId": request.phone_e164.removeprefix("+")},
            "payerMessage": request.remarks[:160],
            "payeeNote": request.remarks[:160],
        }

    def submit(self, request: PayoutRequest) -> SubmitAck:
        """Transfer under our key as X-Reference-Id; 202 means queued at MTN, not yet paid."""
        reference = transfer_reference(request.idempotency_key)
        body = self.transfer_body(request)
        self._check_can_receive(body["payee"]["partyId"])
        headers = {"X-Reference-Id": reference}
        if self.config.callback_url:
            headers["X-Callback-Url"] = self.config.callback_url
        response = self._call("POST", TRANSFER_PATH, json=body, headers=headers)
        if response.status_code == 202:
            return SubmitAck(reference, reference, "202", "Accepted")
        if response.status_code == 409:
            # MTN already holds a transfer under this reference: it may be paid. The
            # GET on the same reference decides; a new reference would pay twice.
            raise DuplicateSubmission(
                f"MoMo already has transfer {reference}", error_code="RESOURCE_ALREADY_EXIST",
                status_code=409,
            )  # fmt: skip
        raise _refusal_or_unknown(response, "transfer")

    def parse_callback(self, kind: CallbackKind, body: Mapping[str, Any]) -> ProviderEvent:
        """A transfer callback (a prompt to ask the GET), or a stored balance answer."""
        if kind is CallbackKind.BALANCE:
            return _balance(body)
        if kind is not CallbackKind.RESULT:
            raise BadCallback(f"MoMo sends no {kind} callback", field="kind")
        key = body.get("externalId")
        if not isinstance(key, str) or not key:
            raise BadCallback("missing externalId", field="externalId")
        said = body.get("status")
        if said not in STATUSES:
            raise BadCallback(f"unknown status {said!r}", field="status")
        # Unsigned: whatever it says, the outcome is settled by the status GET it triggers.
        return PaymentResult(
            idempotency_key=key,
            provider_reference=str(body.get("financialTransactionId") or ""),
            code=str(said),
            description=f"MoMo callback says {said}; confirming by status query",
            status=ResultStatus.UNKNOWN,
        )

    def query_status(
        self, *, idempotency_key: str | None = None, receipt: str | None = None
    ) -> StatusAnswer:
        """GET the transfer by our reference: MoMo's answer is the truth, synchronously."""
        if not idempotency_key:
            raise InvalidPayoutRequest("MoMo finds transfers by reference", field="idempotency_key")
        reference = transfer_reference(idempotency_key)
        response = self._call("GET", f"{TRANSFER_PATH}/{reference}")
        if response.status_code == 404:
            # Not (yet) at MTN. It might still arrive from a request lost in flight,
            # so this proves nothing: the money stays on hold for the next query.
            return StatusAnswer(
                reference, "", "RESOURCE_NOT_FOUND", "MoMo has no transfer under this reference",
                ResultStatus.UNKNOWN, idempotency_key=idempotency_key, provider_status="NOT_FOUND",
            )  # fmt: skip
        body = json_object(response)
        if response.status_code != 200 or body is None:
            raise ProviderUnavailable(f"MoMo status query answered HTTP {response.status_code}")
        return _status_answer(idempotency_key, reference, body)

    def query_balance(self) -> BalanceAnswer:
        """The disbursement account's available balance, synchronously."""
        response = self._call("GET", BALANCE_PATH)
        body = json_object(response)
        if response.status_code != 200 or body is None:
            raise ProviderUnavailable(f"MoMo balance answered HTTP {response.status_code}")
        return _balance(body)

    # --- HTTP --------------------------------------------------------------------

    def _check_can_receive(self, msisdn: str) -> None:
        key = "momo:active:" + hashlib.sha256(msisdn.encode()).hexdigest()[:24]
        if self._store.get(key) is not None:
            return  # checked before an earlier payout to this number
        try:
            response = self._call("GET", ACTIVE_PATH.format(msisdn=msisdn))
        except ProviderUnavailable as exc:
            raise PrecheckFailed(f"MoMo account-holder check failed: {exc.message}") from exc
        body = json_object(response)
        if response.status_code != 200 or body is None or not isinstance(body.get("result"), bool):
            raise PrecheckFailed(f"MoMo account-holder check answered HTTP {response.status_code}")
        if not body["result"]:
            raise ProviderRejected(
                "this number has no MTN MoMo account that can receive",
                error_code=NOT_REGISTERED, status_code=200,
            )  # fmt: skip
        self._store.set(key, b"1", ACTIVE_TTL_SECONDS)

    def _fetch_token(self) -> tuple[str, float]:
        try:
            response = self._session.post(
                self._base + TOKEN_PATH,
                auth=(self.config.api_user, self.config.api_key),
                headers={"Ocp-Apim-Subscription-Key": self.config.subscription_key},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise ProviderAuthError(f"MoMo token endpoint unreachable: {exc}") from exc
        body = json_object(response) or {}
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise ProviderAuthError(f"MoMo token refused: HTTP {response.status_code}")
        try:
            return token, float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            raise ProviderAuthError(f"bad expires_in {body.get('expires_in')!r}") from None

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        token = self._tokens.get()
        response = self._send(method, path, token, **kwargs)
        if response.status_code == 401:
            # Refused at the gateway before processing (an expired token): a resend is
            # safe, and a transfer resend carries the same X-Reference-Id anyway.
            response = self._send(method, path, self._tokens.refresh(token), **kwargs)
        return response

    def _send(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "Ocp-Apim-Subscription-Key": self.config.subscription_key,
            "X-Target-Environment": self.config.target_environment,
            **kwargs.pop("headers", {}),
        }
        try:
            return self._session.request(
                method, self._base + path, headers=headers, timeout=self._timeout, **kwargs
            )
        except requests.RequestException as exc:
            # A timeout after the body left may still be processed: unknown, never "failed".
            raise ProviderUnavailable(f"MoMo {path} unreachable: {exc}") from exc


def transfer_reference(idempotency_key: str) -> str:
    """Our payout's key as MoMo's X-Reference-Id, which must be a UUID v4."""
    value = idempotency_key.lower()
    if not _UUID4.match(value) or str(uuid.UUID(value)) != value:
        raise InvalidPayoutRequest(
            "MoMo needs a UUID v4 reference", field="idempotency_key", value=idempotency_key
        )
    return value


def momo_amount(amount_minor: int, currency: str, market_currency: str) -> str:
    """Minor units as MoMo's amount string ("500" for UGX 500; "5.25" for EUR 5.25)."""
    if currency != market_currency:
        raise InvalidPayoutRequest(
            f"this MoMo market pays {market_currency} only", field="currency", value=currency
        )
    per = MINOR_UNITS[currency]
    whole, cents = divmod(amount_minor, per)
    if per == 1:
        return str(whole)
    return f"{whole}.{cents:0{len(str(per)) - 1}d}"


def _status_answer(key: str, reference: str, body: Mapping[str, Any]) -> StatusAnswer:
    said = body.get("status")
    if said not in STATUSES:
        # An undocumented state proves nothing: rq retries, the money stays on hold.
        raise ProviderUnavailable(f"MoMo transfer {reference}: unknown status {said!r}")
    reason = _reason(body.get("reason"))
    currency = body.get("currency")
    return StatusAnswer(
        query_id=reference,
        provider_reference=str(body.get("financialTransactionId") or reference),
        code=reason or str(said),
        description=f"MoMo transfer {said}" + (f": {reason}" if reason else ""),
        status=STATUSES[str(said)],
        idempotency_key=key,
        receipt=str(body["financialTransactionId"]) if body.get("financialTransactionId") else None,
        provider_status=str(said),
        amount_minor=_minor(body.get("amount"), currency),
        currency=currency if isinstance(currency, str) else None,
    )


def _reason(value: Any) -> str | None:
    # Documented as a code string; older answers nest it as {"code", "message"}.
    if isinstance(value, Mapping):
        value = value.get("code")
    return str(value) if value else None


def _minor(amount: Any, currency: Any) -> int | None:
    try:
        return to_minor(Decimal(str(amount)), currency) if amount is not None else None
    except InvalidOperation:
        return None


def _balance(body: Mapping[str, Any]) -> BalanceAnswer:
    currency = body.get("currency")
    available = _minor(body.get("availableBalance"), currency)
    if not isinstance(currency, str) or available is None:
        raise BadCallback("balance without availableBalance and currency", field="availableBalance")
    account = AccountBalance("MoMo disbursement account", currency, (available,))
    return BalanceAnswer("momo-balance", "", "200", "", True, (account,))


def _refusal_or_unknown(response: requests.Response, what: str) -> Exception:
    """A 4xx was refused before processing (not paid); anything else may have been taken."""
    status = response.status_code
    body = json_object(response) or {}
    code = str(body.get("code") or f"http_{status}")
    message = str(body.get("message") or "")
    if 400 <= status < 500:
        return ProviderRejected(
            f"MoMo refused the {what}: HTTP {status} {code} {message}",
            error_code=code, error_message=message, status_code=status,
        )  # fmt: skip
    return ProviderUnavailable(
        f"MoMo {what} answered HTTP {status} {code}", error_code=code, status_code=status
    )
