"""The shared webhook token check and raw event record."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import Forbidden
from core.webhooks import WebhookEvent, record_event, require_token


@pytest.mark.parametrize("given", [None, "", "wrong", "s3cret-but-longer", "S3CRET"])
def test_a_missing_or_wrong_token_is_forbidden(given: str | None) -> None:
    with pytest.raises(Forbidden) as raised:
        require_token(given, "s3cret", source="africastalking")
    assert raised.value.http_status == 403


def test_the_right_token_passes_and_no_configured_token_lets_everything_in() -> None:
    require_token("s3cret", "s3cret", source="daraja")
    require_token(None, None, source="daraja")


def test_raw_events_are_stored_as_they_arrived(session) -> None:
    payload = {"phoneNumber": "+254711000001", "text": "1*Ndiyo ✓"}
    record_event(
        session, source="africastalking", kind="ussd", payload=payload, external_id="ATU_1"
    )
    session.flush()
    session.expire_all()
    stored = session.scalars(select(WebhookEvent)).one()
    assert (stored.source, stored.external_id, stored.payload) == (
        "africastalking",
        "ATU_1",
        payload,
    )
