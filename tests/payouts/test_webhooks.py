"""Daraja's webhooks: token, malformed bodies, unknown ids; and the lifecycle table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from core.medium import count_segments
from core.webhooks import WebhookEvent
from flows.i18n import LANGUAGES
from payouts.lifecycle import FINAL, TRANSITIONS
from payouts.models import Payout, PayoutStatus
from payouts.receipts import receipt_text
from tests.payouts.conftest import WEBHOOK_TOKEN, Kazi

PAYLOADS = Path(__file__).parent / "payloads"
RESULT = "/webhooks/payouts/b2c/result"
TIMEOUT = "/webhooks/payouts/b2c/timeout"
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def events(kazi: Kazi) -> list[tuple[str, str | None]]:
    with kazi.runtime.sessions() as session:
        rows = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))
        return [(e.kind, e.external_id) for e in rows]


@pytest.mark.parametrize("query", ["", "?token=wrong", "?kind=status"])
@pytest.mark.parametrize("path", [RESULT, TIMEOUT])
def test_a_webhook_without_the_right_token_is_forbidden(kazi: Kazi, path: str, query: str) -> None:
    response = kazi.app.test_client().post(
        path + query, json=payload("daraja_b2c_result_success.json")
    )
    assert response.status_code == 403
    assert events(kazi) == []


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        (RESULT, "not json"),
        (RESULT, {"Result": "nope"}),
        (RESULT, {"Result": {"ResultCode": 0, "ResultType": 0}}),
        (TIMEOUT, {"Result": {}}),
        (RESULT + "?kind=status", {"Result": {"ResultCode": None}}),
        (RESULT + "?kind=bogus", {"Result": {}}),
    ],
)
def test_a_malformed_callback_is_answered_400_and_stored(kazi: Kazi, path: str, body) -> None:
    sep = "&" if "?" in path else "?"
    url = f"{path}{sep}token={WEBHOOK_TOKEN}"
    client = kazi.app.test_client()
    if isinstance(body, str):
        response = client.post(url, data=body, content_type="application/json")
    else:
        response = client.post(url, json=body)
    assert response.status_code == 400
    assert response.get_json()["ResultCode"] == 1
    [(kind, _)] = events(kazi)
    assert kind.endswith("_malformed")


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize(
    ("path", "name"),
    [
        (RESULT, "daraja_b2c_result_success.json"),
        (RESULT, "daraja_b2c_result_failure.json"),
        (TIMEOUT, "daraja_b2c_timeout.json"),
        (RESULT + "?kind=status", "daraja_transaction_status_result.json"),
    ],
)
def test_a_callback_for_an_unknown_payout_is_recorded_and_accepted(
    kazi: Kazi, path: str, name: str
) -> None:
    sep = "&" if "?" in path else "?"
    response = kazi.app.test_client().post(f"{path}{sep}token={WEBHOOK_TOKEN}", json=payload(name))
    assert response.status_code == 200
    assert response.get_json() == ACCEPTED
    assert len(events(kazi)) == 1
    with kazi.runtime.sessions() as session:
        assert session.scalars(select(Payout)).all() == []


def test_every_state_is_reachable_and_every_open_state_has_an_exit() -> None:
    reached, frontier = {PayoutStatus.REQUESTED}, [PayoutStatus.REQUESTED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(PayoutStatus)
    assert {PayoutStatus.SETTLED, PayoutStatus.FAILED} == FINAL
    for state in set(PayoutStatus) - FINAL:
        assert TRANSITIONS[state] & FINAL, state


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("status", [PayoutStatus.SETTLED, PayoutStatus.FAILED])
def test_every_receipt_fits_one_sms(language: str, status: PayoutStatus) -> None:
    largest = Payout(amount_minor=25_000_000, currency="KES", status=status, receipt="UEM1234567")
    text = receipt_text(largest, language)
    assert "KES 250,000" in text and (status is PayoutStatus.FAILED or "UEM1234567" in text)
    info = count_segments(text)
    assert info.segments == 1, (language, status, info)
