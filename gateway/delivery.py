"""The delivery lifecycle of a message, as a declared state machine.

Outbound:  queued ──▶ sending ──▶ accepted ──▶ sent ──▶ delivered | undelivered | failed
                        ▲  │ (temporary send error)
                        │  ▼
                       errored ──▶ failed (retries exhausted)

``sending`` is the send job's claim: only a job that moves a row from queued or
errored to sending (a conditional UPDATE) may call the provider, so two runs of one
job can never both send.
Inbound:   received (initial and final).

Provider reports arrive late, twice and out of order (Twilio says so; AT delivery
reports too). ``advance`` therefore only moves forward: a report that would move a
message backwards, or touch a final one, is a deliberate no-op. The raw event is
still recorded by the caller, so nothing is lost, but the status never regresses.
Only moves that cannot come from reordering (mixing the inbound and outbound
lifecycles) raise ``IllegalTransition``: they are bugs.
"""

from __future__ import annotations

from enum import StrEnum

from gateway.errors import IllegalTransition


class DeliveryStatus(StrEnum):
    """Where a message is in its life; providers' vocabularies map onto this."""

    QUEUED = "queued"  # stored, waiting for the send job (ours)
    SENDING = "sending"  # a send job has claimed it and is talking to the provider (ours)
    ERRORED = "errored"  # a send attempt failed temporarily; a retry is scheduled (ours)
    ACCEPTED = "accepted"  # the provider took it (AT 10x, Twilio queued/accepted/sending)
    SENT = "sent"  # handed to the mobile network (AT Sent/Submitted/Buffered, Twilio sent)
    DELIVERED = "delivered"  # the handset has it
    UNDELIVERED = "undelivered"  # the network tried and gave up (off, expired, unreachable)
    FAILED = "failed"  # refused or never sent (rejected, bad number, opted out, gave up)
    RECEIVED = "received"  # an inbound message


INITIAL: frozenset[DeliveryStatus] = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.RECEIVED})
FINAL: frozenset[DeliveryStatus] = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.RECEIVED,
    }
)

_S = DeliveryStatus
_VERDICTS = frozenset({_S.DELIVERED, _S.UNDELIVERED, _S.FAILED})

#: Allowed forward moves. Skipping steps is allowed because a delivery report can
#: overtake the send response (e.g. "delivered" while the row is still "queued").
TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    _S.QUEUED: frozenset({_S.SENDING, _S.ERRORED, _S.ACCEPTED, _S.SENT}) | _VERDICTS,
    _S.SENDING: frozenset({_S.ERRORED, _S.ACCEPTED, _S.SENT}) | _VERDICTS,
    _S.ERRORED: frozenset({_S.QUEUED, _S.SENDING, _S.ACCEPTED, _S.SENT}) | _VERDICTS,
    _S.ACCEPTED: frozenset({_S.SENT}) | _VERDICTS,
    _S.SENT: _VERDICTS,
    _S.DELIVERED: frozenset(),
    _S.UNDELIVERED: frozenset(),
    _S.FAILED: frozenset(),
    _S.RECEIVED: frozenset(),
}

# How far along the outbound path a status is; used to recognise stale reports.
_RANK: dict[DeliveryStatus, int] = {
    _S.QUEUED: 0,
    _S.ERRORED: 0,
    _S.SENDING: 0,
    _S.ACCEPTED: 1,
    _S.SENT: 2,
    _S.DELIVERED: 3,
    _S.UNDELIVERED: 3,
    _S.FAILED: 3,
}


def is_final(status: DeliveryStatus) -> bool:
    """True when the status can never change again."""
    return status in FINAL


def advance(current: DeliveryStatus | str, reported: DeliveryStatus | str) -> DeliveryStatus:
    """Return the status after a report: the new one, or the current one if stale."""
    # Rows may hand us the stored string; coercing also refuses unknown values.
    current, reported = DeliveryStatus(current), DeliveryStatus(reported)
    if reported is current:
        # A duplicate report (providers resend callbacks): nothing to do.
        return current
    if reported in TRANSITIONS[current]:
        return reported
    if current in _RANK and reported in _RANK:
        # Both are outbound statuses, and the move is not in the table, so the report
        # is stale: either overtaken by a newer one ("sent" after "delivered") or a
        # second verdict on a finished message ("failed" after "delivered"), where the
        # first verdict stands, since flipping it would change metrics and receipts.
        return current
    raise IllegalTransition(f"delivery status cannot move from {current} to {reported}")
