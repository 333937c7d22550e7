from __future__ import annotations

from core.errors import KaziError
from gateway.errors import (
    BadWebhook,
    GatewayError,
    PermanentSendError,
    SendError,
    TemporarySendError,
    UnknownProviderStatus,
)


def test_hierarchy_and_http_mapping() -> None:
    for cls in (BadWebhook, UnknownProviderStatus, SendError):
        assert issubclass(cls, GatewayError) and issubclass(GatewayError, KaziError)
    assert issubclass(TemporarySendError, SendError) and issubclass(PermanentSendError, SendError)
    assert not issubclass(TemporarySendError, PermanentSendError)
    assert BadWebhook("x", "missing").http_status == 400
    assert UnknownProviderStatus("twilio", "x").http_status == 400


def test_bad_webhook_names_field_and_clips_value() -> None:
    error = BadWebhook("phoneNumber", "not a valid phone number", "9" * 500)
    body = error.to_dict()["error"]
    assert body["code"] == "bad_webhook"
    assert "phoneNumber" in body["message"] and len(body["message"]) < 200
    assert body["details"] == [{"field": "phoneNumber"}]


def test_send_errors_carry_reason_and_flags() -> None:
    temp = TemporarySendError("x", provider="at", reason="network", maybe_sent=True)
    perm = PermanentSendError("y", provider="at", reason="blacklisted", opted_out=True)
    assert (temp.reason, temp.maybe_sent) == ("network", True)
    assert (perm.reason, perm.opted_out, perm.provider) == ("blacklisted", True, "at")
