"""Why an SMS was not delivered, in words, from what the message log stores.

``Message.error`` holds either the provider's own failure code as it came (an Africa's
Talking ``failureReason`` such as ``DeliveryFailure``, a Twilio ``ErrorCode`` such as
``30003``) or our short reason from the provider modules (``absent_subscriber``,
``invalid_number``), possibly marked by the outbox as ``gave_up: …`` or ``maybe_sent: …``
with the provider's code in brackets (``gateway/outbound.py``). One table turns each into
words; the stored value is always shown beside them.

Sources: AT's SMS notifications page (delivery report statuses and ``failureReason``
values, as restated in ``africastalking-laravel``'s ``Enum/FailureReason.php``) and its
sending page (per-recipient ``statusCode``); Twilio's error dictionary
(https://www.twilio.com/docs/api/errors, e.g. /30003, /30006, /21610).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    """A failure in words, and whose vocabulary its code is."""

    words: str
    source: str  # "AT", "Twilio" or "Kazi"


def _at(words: str) -> Reason:
    return Reason(words, "AT")


def _twilio(words: str) -> Reason:
    return Reason(words, "Twilio")


def _ours(words: str) -> Reason:
    return Reason(words, "Kazi")


#: Stored failure code (compared case-insensitively) → words.
REASONS: dict[str, Reason] = {
    # AT delivery reports: failureReason.
    "insufficientcredit": _at("The subscriber has no airtime for a premium message"),
    "invalidlinkid": _at("Invalid link id for a premium reply"),
    "userisinactive": _at("The subscriber's line is inactive"),
    "userinblacklist": _at("The subscriber blocked messages from this sender"),
    "useraccountsuspended": _at("The subscriber's account is suspended"),
    "notnetworksubscriber": _at("The number is not on the network it was sent to"),
    "notnetworksubcriber": _at("The number is not on the network it was sent to"),
    "usernotsubscribedtoproduct": _at("The subscriber is not subscribed to this product"),
    "userdoesnotexist": _at("No such subscriber"),
    "deliveryfailure": _at("The network could not deliver it"),
    "donotdisturbrejection": _at("Do-not-disturb: promotional message outside allowed hours"),
    # AT report statuses and send-answer status names, when stored as they came.
    "absentsubscriber": _at("Phone off or out of coverage"),
    "invalidphonenumber": _at("Not a valid phone number"),
    "insufficientbalance": _at("Our SMS account's balance ran out"),
    "riskhold": _at("Held by the provider's risk checks"),
    "invalidsenderid": _at("The sender id is not allowed"),
    "unsupportednumbertype": _at("The number cannot receive SMS"),
    "couldnotroute": _at("The provider could not route it"),
    "internalservererror": _at("The provider had an internal error"),
    "gatewayerror": _at("The provider had an internal error"),
    "rejectedbygateway": _at("Rejected by the network's gateway"),
    # Our reasons for AT statuses and send answers (gateway/providers/africastalking.py).
    "failed": _ours("The network reported a failure"),
    "absent_subscriber": _ours("Phone off or out of coverage"),
    "expired": _ours("Expired at the network before delivery"),
    "rejected": _ours("Rejected by the provider or the network"),
    "risk_hold": _ours("Held by the provider's risk checks"),
    "invalid_sender_id": _ours("The sender id is not allowed"),
    "invalid_number": _ours("Not a valid phone number"),
    "unsupported_number_type": _ours("The number cannot receive SMS"),
    "insufficient_balance": _ours("Our SMS account's balance ran out"),
    "blacklisted": _ours("The subscriber blocked messages from this sender"),
    "could_not_route": _ours("The provider could not route it"),
    "do_not_disturb": _ours("The subscriber's do-not-disturb setting refused it"),
    "provider_error": _ours("The provider had an internal error"),
    "unknown_status": _ours("The provider answered with a status we do not know"),
    "missing_recipient": _ours("The provider's answer did not mention this number"),
    "http_error": _ours("The provider's API could not be reached"),
    "network": _ours("The network between us and the provider failed"),
    "bad_response": _ours("The provider's answer could not be read"),
    "request_refused": _ours("The provider refused the request"),
    "provider_config": _ours("Our provider account is misconfigured"),
    "partial": _ours("Only some parts of the message were sent"),
    "opted_out": _ours("The worker opted out of SMS"),
    "rate_limited": _ours("Held back by the sending rate limit"),
    "auth_failed": _ours("The provider refused our credentials"),
    "region_not_enabled": _ours("Sending to this country is not enabled"),
    "queue_full": _ours("The provider's queue for our sender was full"),
    "unroutable": _ours("The provider could not route it"),
    "not_mobile": _ours("The number is not a mobile phone"),
    "body_too_long": _ours("The message is too long"),
    # Twilio ErrorCode values in status callbacks and API errors.
    "21211": _twilio("Not a valid phone number"),
    "21408": _twilio("Sending to this country is not enabled"),
    "21610": _twilio("The recipient replied STOP to our sender"),
    "21611": _twilio("The sender's queue was full"),
    "21612": _twilio("Twilio cannot route to this number"),
    "21614": _twilio("The number is not a mobile phone"),
    "30001": _twilio("Queue overflow: too many messages waiting"),
    "30002": _twilio("Account suspended"),
    "30003": _twilio("Handset unreachable (off or out of coverage)"),
    "30004": _twilio("Message blocked by the recipient or the carrier"),
    "30005": _twilio("Unknown destination handset"),
    "30006": _twilio("Landline or unreachable carrier"),
    "30007": _twilio("Filtered by the carrier as spam"),
    "30008": _twilio("Unknown error at the carrier"),
    "30009": _twilio("A segment of the message is missing"),
    "30010": _twilio("The price exceeds the maximum set"),
}

#: Marks the outbox puts before a reason (gateway/outbound.py).
_MARKS = {
    "gave_up": "Gave up after retries",
    "maybe_sent": "May have been sent (the provider did not answer)",
}


def describe(error: str | None) -> str:
    """Stored failure code → ``words (code)``; a code the table lacks is shown as it is."""
    if not error:
        return "no reason given"
    raw = error.strip()
    mark, sep, rest = raw.partition(": ")
    prefix = ""
    if sep and mark in _MARKS:
        prefix, raw = _MARKS[mark] + ": ", rest
    found = REASONS.get(raw.partition(" (")[0].strip().casefold())
    if found is None:
        return prefix + raw
    return f"{prefix}{found.words} ({found.source} {raw})"
