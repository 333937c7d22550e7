"""The SMS a worker gets when a payout ends: paid, or failed with the money back.

Payouts decide what to say (a catalog key and its values); the words, in every
language, are in the flows' catalogs (``[payout]``), and ``workers.jobs.notify``
sends them, so payouts never touch the SMS channel.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.jobs import enqueue
from core.money import MINOR_UNITS
from payouts.models import Payout, PayoutStatus
from workers.notify import notice_text

_KEYS = {PayoutStatus.SETTLED: "payout.settled", PayoutStatus.FAILED: "payout.failed"}
#: What the worker calls each rail's service ("sent to your MTN MoMo"); the sandbox
#: stands in for the real rail of the payout's currency.
SERVICES = {"daraja": "M-Pesa", "mtn_momo": "MTN MoMo", "airtime": "airtime"}
SANDBOX_SERVICES = {"KES": "M-Pesa", "UGX": "MTN MoMo"}
#: Refusal codes meaning "this number has no wallet on the rail" (MoMo's account-holder
#: check); the receipt then says so, so the worker knows what to fix.
NO_WALLET_CODES = frozenset({"PAYEE_NOT_REGISTERED", "PAYEE_NOT_FOUND"})


def service_name(rail: str, currency: str) -> str:
    """The service a rail pays into, as the worker knows it (the sandbox: by currency)."""
    if rail in SERVICES:
        return SERVICES[rail]
    return SANDBOX_SERVICES.get(currency, "mobile money")


def format_amount(amount_minor: int, currency: str) -> str:
    """'KES 50' for whole amounts, 'KES 50.25' otherwise: short, as an SMS needs."""
    per = MINOR_UNITS[currency]
    whole, cents = divmod(amount_minor, per)
    if cents == 0:
        return f"{currency} {whole:,}"
    return f"{currency} {whole:,}.{cents:0{len(str(per)) - 1}d}"


def receipt_notice(payout: Payout) -> tuple[str, dict[str, Any]]:
    """The catalog key and values of a settled or failed payout's receipt."""
    values = {
        "amount": format_amount(payout.amount_minor, payout.currency),
        "receipt": payout.receipt or "-",
        "service": service_name(payout.provider, payout.currency),
    }
    if payout.status is PayoutStatus.FAILED and payout.result_code in NO_WALLET_CODES:
        return "payout.no_wallet", values
    return _KEYS[payout.status], values


def receipt_text(payout: Payout, language: str) -> str:
    """The receipt as the worker reads it, in ``language`` (English fallback)."""
    key, values = receipt_notice(payout)
    return notice_text(key, language, values)


def send_receipt(session: Session, payout: Payout) -> None:
    """Queue the worker's receipt, sent once the caller's transaction commits."""
    key, values = receipt_notice(payout)
    enqueue(
        session,
        "workers.jobs.notify",
        payout.worker_id,
        key,
        values,
        queue="sms",
        job_id=f"receipt-payout-{payout.id}",
    )
