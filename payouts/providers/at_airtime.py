"""Africa's Talking Airtime as a payout rail, through the official ``africastalking`` SDK.

Facts and their sources:

- Sending: ``AirtimeService(username, api_key).send(phone_number, amount, currency_code,
  idempotency_key=...)`` posts to ``/version1/airtime/send``; the SDK sends our key as the
  ``Idempotency-Key`` header, so a retried request is not sent twice
  (https://github.com/AfricasTalkingLtd/africastalking-python, ``africastalking/Airtime.py``;
  https://developers.africastalking.com/docs/airtime/sending).
- The answer lists each recipient with ``status`` ``Sent`` (handed to the telco, not
  delivered), a ``requestId`` and AT's ``discount``; a refused one says why in
  ``errorMessage``.
- The outcome comes to the airtime status callback URL set on AT's dashboard:
  ``requestId`` and ``status`` ``Success`` or ``Failed``
  (https://developers.africastalking.com/docs/airtime/notifications). Only that callback
  is final: Kazi protects its route with ``AT_WEBHOOK_TOKEN`` and finds the payout by the
  ``requestId`` recorded from the answer.
- AT's SDK has no airtime status query, so ``query_status`` proves nothing: a payout
  whose callback never comes stays on hold for the reconcile run and an operator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from africastalking.Airtime import AirtimeService
from africastalking.Service import AfricasTalkingException

from core.money import MINOR_UNITS, to_minor
from payouts.errors import BadCallback, InvalidPayoutRequest, ProviderRejected, ProviderUnavailable
from payouts.providers.base import (
    BalanceAnswer,
    CallbackKind,
    PaymentResult,
    PayoutRequest,
    ProviderEvent,
    ResultStatus,
    StatusAnswer,
    SubmitAck,
)

#: AT's airtime status words in Kazi's terms.
STATUSES = {"Success": ResultStatus.SUCCESS, "Failed": ResultStatus.FAILED}
#: The currencies Kazi knows that AT sells airtime in (Kenya, Uganda, Tanzania; AT's
#: airtime coverage, https://africastalking.com/airtime).
AIRTIME_CURRENCIES = frozenset({"KES", "UGX", "TZS"})


class AirtimeClient:
    """Airtime top-ups as payouts; one SDK service per call (the SDK keeps headers on it)."""

    name = "airtime"

    def __init__(
        self,
        username: str,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        service: Callable[[], Any] | None = None,
    ) -> None:
        self._username, self._api_key = username, api_key
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout = timeout
        self._service = service or self._new_service

    def _new_service(self) -> AirtimeService:
        service = AirtimeService(self._username, self._api_key)
        if self._base_url:  # a local emulator, or another AT host
            service._baseUrl = self._base_url + "/version1/airtime"
        return service

    def submit(self, request: PayoutRequest) -> SubmitAck:
        """Send airtime under our key; ``Sent`` is only handed to the telco, not final."""
        try:
            answer = self._service().send(
                phone_number=request.phone_e164,
                amount=airtime_amount(request.amount_minor, request.currency),
                currency_code=request.currency,
                idempotency_key=request.idempotency_key,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"AT airtime unreachable: {exc}") from exc
        except AfricasTalkingException as exc:
            # A non-2xx answer: the SDK hides its status, so it may have been taken.
            raise ProviderUnavailable(f"AT airtime answered: {str(exc)[:200]}") from exc
        return _ack(request.idempotency_key, answer)

    def parse_callback(self, kind: CallbackKind, body: Mapping[str, Any]) -> ProviderEvent:
        """AT's airtime status callback: final, found by the requestId of the answer."""
        request_id, said = body.get("requestId"), body.get("status")
        if not isinstance(request_id, str) or not request_id:
            raise BadCallback("missing requestId", field="requestId")
        if said not in STATUSES:
            raise BadCallback(f"unknown status {said!r}", field="status")
        return PaymentResult(
            idempotency_key="",  # AT echoes its requestId, not our key
            provider_reference=request_id,
            code=str(said),
            description=str(body.get("description") or said)[:1000],
            status=STATUSES[str(said)],
            receipt=request_id if said == "Success" else None,
            discount_minor=_discount(body.get("discount")),
        )

    def query_status(
        self, *, idempotency_key: str | None = None, receipt: str | None = None
    ) -> StatusAnswer:
        """No status query for airtime: the answer proves nothing and the money stays held."""
        return StatusAnswer(
            idempotency_key or "", "", "NO_QUERY", "AT airtime has no status query",
            ResultStatus.UNKNOWN, idempotency_key=idempotency_key,
        )  # fmt: skip

    def query_balance(self) -> BalanceAnswer:
        """AT's airtime is paid from the account's balance, which this adapter does not read."""
        raise ProviderUnavailable("the airtime rail reports no float")


def airtime_amount(amount_minor: int, currency: str) -> str:
    """Minor units as AT's amount ("50" or "50.50"), in a currency AT sells airtime in."""
    if currency not in AIRTIME_CURRENCIES:
        raise InvalidPayoutRequest("no airtime in this currency", field="currency", value=currency)
    whole, cents = divmod(amount_minor, MINOR_UNITS[currency])
    return f"{whole}.{cents:02d}" if cents else str(whole)


def _discount(value: Any) -> int | None:
    """AT's "KES 2.0000" as minor units (None when absent or unreadable)."""
    currency, _, amount = str(value or "").partition(" ")
    try:
        minor = to_minor(Decimal(amount), currency) if amount else None
    except InvalidOperation:
        return None
    return minor if minor and minor > 0 else None


def _ack(key: str, answer: Any) -> SubmitAck:
    lines = answer.get("responses") if isinstance(answer, dict) else None
    if not isinstance(lines, list) or len(lines) != 1 or not isinstance(lines[0], dict):
        raise ProviderUnavailable("AT airtime: unreadable answer")  # it may have been sent
    line = lines[0]
    if line.get("status") != "Sent":
        why = str(line.get("errorMessage") or answer.get("errorMessage") or "refused")
        raise ProviderRejected(
            f"AT airtime refused: {why}", error_code="airtime_refused", error_message=why
        )
    request_id = line.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise ProviderUnavailable("AT airtime sent without a requestId")
    return SubmitAck(key, request_id, "Sent", f"discount {line.get('discount', '')}".strip())
