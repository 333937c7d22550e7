"""What the Daraja emulator accepts: each documented request's fields, checked strictly."""

from __future__ import annotations

import re
from typing import Any

B2C_FIELDS = {
    "OriginatorConversationID", "InitiatorName", "SecurityCredential", "CommandID", "Amount",
    "PartyA", "PartyB", "Remarks", "QueueTimeOutURL", "ResultURL",
}  # fmt: skip
B2C_OPTIONAL = {"Occassion"}
QUERY_FIELDS = {
    "Initiator", "SecurityCredential", "CommandID", "PartyA", "IdentifierType", "Remarks",
    "QueueTimeOutURL", "ResultURL",
}  # fmt: skip


def b2c_problem(body: dict[str, Any], shortcode: str, initiator: str) -> str | None:
    """The first invalid field of a B2C v3 request, or None."""
    missing = B2C_FIELDS - body.keys()
    unknown = body.keys() - B2C_FIELDS - B2C_OPTIONAL
    if missing or unknown:
        return sorted(missing | unknown)[0]
    amount = body["Amount"]
    checks = {
        "OriginatorConversationID": isinstance(body["OriginatorConversationID"], str)
        and bool(body["OriginatorConversationID"]),
        "InitiatorName": body["InitiatorName"] == initiator,
        "SecurityCredential": isinstance(body["SecurityCredential"], str)
        and bool(body["SecurityCredential"]),
        "CommandID": body["CommandID"] in {"BusinessPayment", "SalaryPayment", "PromotionPayment"},
        "Amount": type(amount) is int and 10 <= amount <= 250_000,
        "PartyA": body["PartyA"] == shortcode,
        "PartyB": isinstance(body["PartyB"], str)
        and bool(re.fullmatch(r"254[17]\d{8}", body["PartyB"])),
        "Remarks": isinstance(body["Remarks"], str) and 2 <= len(body["Remarks"]) <= 100,
        "QueueTimeOutURL": str(body["QueueTimeOutURL"]).startswith("http"),
        "ResultURL": str(body["ResultURL"]).startswith("http"),
        "Occassion": "Occassion" not in body
        or (isinstance(body["Occassion"], str) and 1 <= len(body["Occassion"]) <= 100),
    }
    return next((name for name, ok in checks.items() if not ok), None)


def query_problem(body: dict[str, Any], command_id: str, shortcode: str) -> str | None:
    """The first invalid field of a Transaction Status or Account Balance request, or None."""
    missing = QUERY_FIELDS - body.keys()
    if missing:
        return sorted(missing)[0]
    if body["CommandID"] != command_id:
        return "CommandID"
    if body["PartyA"] != shortcode:
        return "PartyA"
    if body["IdentifierType"] != "4":
        return "IdentifierType"
    return None
