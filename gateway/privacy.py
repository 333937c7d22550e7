"""The gateway's part in data protection: erasing a worker's traffic and ageing out bodies.

Rows stay (delivery statuses, costs and counts feed the console and the bills); what
identifies or quotes the worker goes: the number becomes the worker's pseudonym and the
text is blanked (Kenya Data Protection Act 2019, ss. 39-40:
https://kenyalaw.org/kl/fileadmin/pdfdocuments/Acts/2019/TheDataProtectionAct__No24of2019.pdf).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from core.db import matched_rows
from gateway.models import Message, UssdSession

#: What an erased or aged-out SMS body reads as.
ERASED = ""


def erase_traffic(session: Session, *, worker_id: int, phone: str, pseudonym: str) -> int:
    """Replace the number and blank the texts of every message and USSD session of a worker."""
    messages = update(Message).where(or_(Message.worker_id == worker_id, Message.phone == phone))
    count = matched_rows(session.execute(messages.values(phone=pseudonym, body=ERASED)))
    hops = update(UssdSession).where(
        or_(UssdSession.worker_id == worker_id, UssdSession.phone == phone)
    )
    values = {"phone": pseudonym, "seen_text": "", "last_screen": None}
    return count + matched_rows(session.execute(hops.values(**values)))


def purge_bodies(session: Session, *, before: datetime) -> int:
    """Blank the bodies of messages created before ``before`` (retention); how many changed."""
    old = update(Message).where(Message.created_at < before, Message.body != ERASED)
    return matched_rows(session.execute(old.values(body=ERASED)))
