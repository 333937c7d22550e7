"""The SMS a worker gets when a payout ends: paid, or failed with the money back."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.money import MINOR_UNITS
from gateway.outbound import send_sms
from payouts.models import Payout, PayoutStatus
from workers.models import Worker

# One GSM-7 segment in every language (checked by a test), so a receipt is never split.
TEXTS = {
    "en": {
        PayoutStatus.SETTLED: "Kazi: {amount} sent to your M-Pesa. Ref {receipt}. Thank you!",
        PayoutStatus.FAILED: "Kazi: your withdrawal of {amount} failed. "
        "The money is back in your balance.",
    },
    "sw": {
        PayoutStatus.SETTLED: "Kazi: {amount} zimetumwa kwa M-Pesa yako. Kumb. {receipt}. Asante!",
        PayoutStatus.FAILED: "Kazi: utoaji wa {amount} haukufaulu. "
        "Pesa imerudishwa kwenye salio lako.",
    },
    "fr": {
        PayoutStatus.SETTLED: "Kazi : {amount} envoyés sur votre M-Pesa. Réf {receipt}. Merci !",
        PayoutStatus.FAILED: "Kazi : votre retrait de {amount} a échoué. "
        "L'argent est revenu sur votre solde.",
    },
}


def format_amount(amount_minor: int, currency: str) -> str:
    """'KES 50' for whole amounts, 'KES 50.25' otherwise: short, as an SMS needs."""
    per = MINOR_UNITS[currency]
    whole, cents = divmod(amount_minor, per)
    if cents == 0:
        return f"{currency} {whole:,}"
    return f"{currency} {whole:,}.{cents:0{len(str(per)) - 1}d}"


def receipt_text(payout: Payout, language: str) -> str:
    """The receipt for a settled or failed payout, in the worker's language (English fallback)."""
    texts = TEXTS.get(language, TEXTS["en"])
    return texts[payout.status].format(
        amount=format_amount(payout.amount_minor, payout.currency), receipt=payout.receipt or "-"
    )


def send_receipt(session: Session, payout: Payout, *, sms_provider: str) -> None:
    """Queue the worker's receipt SMS in the caller's transaction (sent after commit)."""
    worker = session.get_one(Worker, payout.worker_id)
    send_sms(
        session,
        phone=payout.phone,
        body=receipt_text(payout, worker.language),
        provider=sms_provider,
        worker_id=worker.id,
    )
