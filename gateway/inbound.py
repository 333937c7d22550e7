"""Typed values for what providers send us, decoded from their webhooks.

Provider parsers (``gateway.providers.*``) build these from form fields; the web
views hand them to services. Phone numbers are already E.164 here. Each value keeps
the raw form (``raw``) so the caller can store the provider's event as it arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from flows.inputs import USSD_MASK
from gateway.delivery import DeliveryStatus

#: The longest run of ``*``-separated inputs searched for the already-seen part of a
#: session's text (AT sessions last minutes: a few dozen hops at most).
_MAX_SEEN_SEARCH = 100


class UssdEndStatus(StrEnum):
    """How a USSD session ended, as AT's end-of-session notification tells it."""

    SUCCESS = "success"  # the app answered END
    INCOMPLETE = "incomplete"  # dropped while a CON menu waited (timeout, cancel, coverage)
    FAILED = "failed"  # AT could not reach us or got a bad answer
    UNKNOWN = "unknown"  # a status we have no word for (e.g. "Aborted"); the raw one is kept


@dataclass(frozen=True, slots=True)
class UssdRequest:
    """One USSD hop: the session, who dialled what, and all input so far."""

    provider: str
    session_id: str
    service_code: str
    phone: str
    network_code: str | None
    text: str  # every input of the session joined by "*", "" on the first hop
    raw: dict[str, str] = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class UssdSessionEnd:
    """The provider's notice that a USSD session is over, with its cost and outcome."""

    provider: str
    session_id: str
    service_code: str | None
    phone: str | None  # None when the provider's number did not parse (the raw form keeps it)
    network_code: str | None
    status: UssdEndStatus
    provider_status: str  # the provider's own word, kept when we do not know it
    duration_ms: int | None
    hops: int | None
    cost: str | None  # as sent ("0.0000" or "KES 0.10": the format is unverified)
    cost_amount: Decimal | None
    cost_currency: str | None
    final_input: str
    last_response: str | None
    error: str | None
    ended_at: datetime | None  # the provider's clock, UTC assumed; None if unparseable
    raw: dict[str, str] = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class InboundSms:
    """An SMS a worker sent us."""

    provider: str
    provider_message_id: str | None  # the de-duplication key when present
    sender: str  # E.164
    recipient: str  # our shortcode or number, as the provider wrote it
    text: str
    received_at: datetime | None  # the provider's clock, UTC assumed; None if absent
    network_code: str | None = None
    link_id: str | None = None  # AT: pass back when replying to on-demand premium SMS
    segments: int | None = None
    channel: str = "sms"  # "whatsapp" for Twilio's whatsapp: addresses
    raw: dict[str, str] = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's news about a message we sent, in our vocabulary."""

    provider: str
    provider_message_id: str  # join key with the send response's message id
    status: DeliveryStatus | None  # None: a provider status we have no mapping for
    provider_status: str  # the provider's own word, for the message log
    phone: str | None
    failure_reason: str | None = None
    network_code: str | None = None
    opted_out: bool = False  # the network says the worker blocked us: mark them opted out
    cost_amount: Decimal | None = None
    cost_currency: str | None = None
    segments: int | None = None
    retry_count: int | None = None
    raw: dict[str, str] = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class OptOutNotice:
    """A provider telling us a worker opted out of our sender (AT bulk SMS opt-out)."""

    provider: str
    phone: str
    sender_id: str | None
    raw: dict[str, str] = field(default_factory=dict, repr=False, compare=False, hash=False)


def new_ussd_input(full_text: str, seen_text: str | None) -> str:
    """Return what the worker typed in this hop, given the session's text seen before."""
    if not full_text:
        return ""
    if not seen_text:
        # First hop we know of. On a normal first dial AT sends "" (handled above); a
        # non-empty first text comes from extra segments dialled ("*384*12*5#"), and
        # all of it is the worker's input.
        return full_text
    prefix = seen_text + "*"
    if full_text.startswith(prefix):
        # Everything after what we had already seen, so an answer containing "*"
        # ("5*3") reaches the flow intact instead of being cut at its last "*".
        return full_text[len(prefix) :]
    if full_text == seen_text:
        # The same hop again (a provider retry after a slow answer): no new input.
        return ""
    # Our record does not match AT's (a lost hop, a restarted session store). The
    # best guess is AT's own convention: the newest input follows the last "*".
    return full_text.rsplit("*", 1)[-1]


@dataclass(frozen=True, slots=True)
class UssdProgress:
    """A hop's text against what its session has seen: the new input, and the seen part masked."""

    new_input: str
    masked_seen: str  # the part already seen, as stored (secrets masked); "" when none


def ussd_progress(
    full_text: str, seen_digest: str | None, masked_seen: str, digest: Callable[[str], str]
) -> UssdProgress:
    """Find the new input of a hop when the session keeps only a digest of its seen text.

    The text seen so far is stored masked (a PIN typed in it is ``****``), so it cannot
    be compared with AT's ``text``; its keyed digest can. The longest prefix of
    ``full_text`` ending at a ``*`` (or all of it) whose digest matches is what was seen.
    With no match (a lost hop) AT's convention applies, and the unknown inputs are
    masked, since they may hold a PIN the flow never saw.
    """
    if seen_digest is None:
        return UssdProgress(new_ussd_input(full_text, None), "")
    stars = [i for i, char in enumerate(full_text) if char == "*"][-_MAX_SEEN_SEARCH:]
    for prefix in [full_text, *(full_text[:i] for i in reversed(stars)), ""]:
        if digest(prefix) == seen_digest:
            return UssdProgress(new_ussd_input(full_text, prefix), masked_seen if prefix else "")
    before, _, last = full_text.rpartition("*")
    return UssdProgress(last, mask_inputs(before))


def mask_inputs(text: str) -> str:
    """Every ``*``-separated input of ``text`` masked ("" stays "")."""
    return "*".join(USSD_MASK for _ in text.split("*")) if text else ""


def join_inputs(before: str, new_input: str) -> str:
    """A session's text with one more input, as AT joins them."""
    return f"{before}*{new_input}" if before and new_input else before or new_input
